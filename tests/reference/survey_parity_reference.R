# Reference values for the R-parity features of ssp_research.survey, from R's survey package:
# factor variables in svymean/svytotal/svyciprop, factor() in svyglm formulas, regTermTest,
# exp(cbind(coef, confint)), svyquantile's qrule/interval.type, calibrate(calfun=, bounds=),
# and the edge cases of svyciprop on calibrated designs and zero weights.
#
# Run from the repository root:
#   Rscript tests/reference/survey_parity_reference.R > tests/reference/survey_parity_reference.json
# (R 4 with survey 4.1.1; no other packages: JSON is written by hand below.)
#
# Data: the .rda files shipped with survey (api); tests/survey/test_parity.py loads the same
# files with the Python `rdata` package and adds the same derived columns (see `derive` there).
# Every case is {"names": [...], "estimate": [...], ...}; tests compare to a relative 1e-6
# unless the test says otherwise.

suppressMessages(library(survey))
data(api)
for (nm in c("apiclus1", "apistrat")) {
  d <- get(nm)
  d$stype_na <- d$stype
  d$stype_na[seq_len(nrow(d)) %% 7 == 0] <- NA                   # planted missing values
  d$high <- as.numeric(d$api00 > 800)
  d$grade <- factor(ifelse(d$stype == "E", "g8", ifelse(d$stype == "M", "g9", "g10")),
                    levels = c("g8", "g9", "g10"))                 # a non-alphabetical factor
  d$sgrade <- ifelse(d$stype == "E", 8, ifelse(d$stype == "M", 9, 10))   # numeric codes
  assign(nm, d)
}

designs <- list(
  clus1 = svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1),
  strat = svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
)

# ---- tiny JSON writer (no jsonlite on the machine) ----------------------------------------
num <- function(x) {
  x <- as.numeric(x)
  s <- ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "1e999", "-1e999"),
                                       sprintf("%.17g", x)))
  paste0("[", paste(s, collapse = ", "), "]")
}
strs <- function(x) paste0("[", paste0('"', as.character(x), '"', collapse = ", "), "]")
obj <- function(items) {
  paste0("{", paste(sprintf('"%s": %s', names(items), unlist(items)), collapse = ", "), "}")
}
out <- list()
put <- function(name, ...) {
  items <- list(...)
  items <- lapply(items, function(v) if (is.character(v)) strs(v) else num(unlist(v)))
  out[[name]] <<- obj(items)
}
stat <- function(name, s) {
  ci <- confint(s)
  put(name, names = names(coef(s)), estimate = coef(s), se = SE(s), ci_low = ci[, 1],
      ci_high = ci[, 2])
}

# ---- 1. factor variables in svymean, svytotal, svyby and svyciprop --------------------------
for (nm in names(designs)) {
  des <- designs[[nm]]
  stat(paste0(nm, "_mean_stype"), svymean(~stype, des))
  stat(paste0(nm, "_total_stype"), svytotal(~stype, des))
  stat(paste0(nm, "_mean_grade"), svymean(~grade, des))
  stat(paste0(nm, "_mean_stype_na"), svymean(~stype_na, des, na.rm = TRUE))
  stat(paste0(nm, "_total_stype_na"), svytotal(~stype_na, des, na.rm = TRUE))
  stat(paste0(nm, "_mean_by_awards"), svyby(~stype_na, ~awards, des, svymean, na.rm = TRUE))
  stat(paste0(nm, "_total_by_awards"), svyby(~stype, ~awards, des, svytotal))
  for (m in c("logit", "beta", "mean")) {
    est <- c(); se <- c(); lo <- c(); hi <- c(); nms <- c()
    for (lv in levels(apiclus1$stype)) {
      dd <- update(des, ind = as.numeric(stype_na == lv))
      p <- svyciprop(~ind, dd, method = m, na.rm = TRUE)
      est <- c(est, coef(p)); se <- c(se, SE(p)); nms <- c(nms, lv)
      lo <- c(lo, confint(p)[1]); hi <- c(hi, confint(p)[2])
    }
    put(paste0(nm, "_ciprop_stype_na_", m), names = nms, estimate = est, se = se,
        ci_low = lo, ci_high = hi)
  }
}

# ---- 2. factor() in svyglm formulas --------------------------------------------------------
model <- function(name, m) {
  ci <- confint(m)
  put(name, names = names(coef(m)), estimate = coef(m), se = SE(m), ci_low = ci[, 1],
      ci_high = ci[, 2], df = m$df.residual)
}
# Non-Gaussian fits use a tight IRLS tolerance (as survey_models_reference.R): R's default
# (1e-8 on the deviance) leaves the estimates about 1e-5 from the converged value.
tight <- glm.control(epsilon = 1e-13, maxit = 100)
models <- list(
  lin = function(des) svyglm(api00 ~ ell + factor(sgrade), design = des),
  inter = function(des) svyglm(api00 ~ factor(sgrade) * ell + meals, design = des),
  logit = function(des) svyglm(awards ~ meals + factor(sgrade) + ell, design = des,
                               family = quasibinomial(), control = tight)
)
fits <- list()
for (nm in names(designs)) for (mn in names(models)) {
  fits[[paste0(nm, "_", mn)]] <- models[[mn]](designs[[nm]])
  model(paste0(nm, "_glm_", mn), fits[[paste0(nm, "_", mn)]])
}

# ---- 3. regTermTest: Wald F and the working likelihood ratio ----------------------------------
tests <- list(
  lin = list(~factor(sgrade), ~ell + factor(sgrade)),
  inter = list(~factor(sgrade):ell, ~factor(sgrade) + factor(sgrade):ell),
  logit = list(~factor(sgrade), ~meals)
)
for (nm in names(designs)) for (mn in names(models)) {
  m <- fits[[paste0(nm, "_", mn)]]
  for (j in seq_along(tests[[mn]])) {
    tt <- tests[[mn]][[j]]
    w <- regTermTest(m, tt, method = "Wald")
    put(sprintf("%s_rtt_%s_%d_Wald", nm, mn, j), statistic = w$Ftest, df = w$df,
        ddf = w$ddf, p_value = w$p)
    w <- regTermTest(m, tt, method = "Wald", df = Inf)
    put(sprintf("%s_rtt_%s_%d_Wald_inf", nm, mn, j), statistic = w$chisq, df = w$df,
        p_value = w$p)
    for (meth in c("WorkingWald", "LRT")) {
      w <- regTermTest(m, tt, method = meth)
      put(sprintf("%s_rtt_%s_%d_%s", nm, mn, j, meth), statistic = w$chisq, df = w$df,
          ddf = w$ddf, p_value = w$p, lambda = w$lambda)
    }
  }
  put(paste0(nm, "_dev_", mn), deviance = deviance(m))
}

# ---- 4. odds ratios: exp(cbind(coef, confint)) ------------------------------------------------
for (nm in names(designs)) {
  e <- exp(cbind(coef(fits[[paste0(nm, "_logit")]]), confint(fits[[paste0(nm, "_logit")]])))
  put(paste0(nm, "_or_logit"), names = rownames(e), estimate = e[, 1], ci_low = e[, 2],
      ci_high = e[, 3])
}

# ---- 5. svyquantile: quantile rules and interval types ---------------------------------------
qput <- function(name, q) {
  ci <- confint(q)
  put(name, estimate = coef(q), se = SE(q), ci_low = ci[, 1], ci_high = ci[, 2])
}
rules <- c("math", "school", "shahvaish", paste0("hf", 1:9))
for (nm in names(designs)) {
  des <- designs[[nm]]
  for (v in c("api00", "meals")) for (r in rules) {
    qput(sprintf("%s_q_%s_%s_mean", nm, v, r),
         svyquantile(as.formula(paste0("~", v)), des, c(0.1, 0.5, 0.9), qrule = r))
  }
  for (v in c("api00", "meals")) for (r in c("math", "school", "hf7"))
    for (it in c("beta", "xlogit", "asin", "score")) {
      qput(sprintf("%s_q_%s_%s_%s", nm, v, r, it),
           svyquantile(as.formula(paste0("~", v)), des, c(0.25, 0.5, 0.75), qrule = r,
                       interval.type = it))
    }
  # by domain: svyquantile on each subset() (what svyby does; confint(svyby(...)) would give
  # estimate +- z SE instead of the quantile intervals)
  for (r in c("math", "school", "hf7")) for (it in c("mean", "beta", "score")) {
    qs <- lapply(c("No", "Yes"), function(lv)
      svyquantile(~api00, subset(des, awards == lv), 0.5, qrule = r, interval.type = it))
    put(sprintf("%s_qby_%s_%s", nm, r, it), estimate = sapply(qs, coef),
        se = sapply(qs, SE), ci_low = sapply(qs, function(q) confint(q)[1]),
        ci_high = sapply(qs, function(q) confint(q)[2]))
  }
}

# ---- 6. calibrate: calfun = linear / raking / logit, bounds, bounds.const ----------------------
dclus1 <- designs$clus1
dstrat <- designs$strat
popc <- c(6194, 755, 1018, 3914069)   # (Intercept), stypeH, stypeM, api99
pops <- c(6194, 3914069)
calibrated <- list(
  clus1_cal_raking = calibrate(dclus1, ~stype + api99, popc, calfun = "raking"),
  clus1_cal_raking_bounded = calibrate(dclus1, ~stype + api99, popc, calfun = "raking",
                                       bounds = c(0.6, 1.8)),
  clus1_cal_logit = calibrate(dclus1, ~stype + api99, popc, calfun = "logit",
                              bounds = c(0.5, 2.2)),
  clus1_cal_linear_const = calibrate(dclus1, ~stype + api99, popc, bounds = c(20, 60),
                                     bounds.const = TRUE),
  strat_cal_raking = calibrate(dstrat, ~api99, pops, calfun = "raking"),
  strat_cal_logit = calibrate(dstrat, ~api99, pops, calfun = "logit", bounds = c(0.5, 2))
)
for (nm in names(calibrated)) {
  d <- calibrated[[nm]]
  m <- svymean(~api00, d); t <- svytotal(~enroll, d); p <- svyciprop(~high, d)
  put(nm, weights = weights(d), mean = coef(m), mean_se = SE(m), total = coef(t),
      total_se = SE(t), prop = coef(p), prop_se = SE(p), prop_ci = confint(p))
}
# R fails where the bounds cannot be met ("Calibration failed"): recorded as a flag
put("clus1_cal_raking_tight_fails", fails = as.numeric(inherits(try(
  calibrate(dclus1, ~stype + api99, popc, calfun = "raking", bounds = c(0.8, 1.25)),
  silent = TRUE), "try-error")))

# ---- 7. svyciprop edge cases: calibrated designs, domains by zero weights, p = 0 and 1 -------
cal <- calibrated$clus1_cal_raking
ciprop4 <- function(f, d, m) {   # estimate, SE, CI; NA where R stops with an error
  p <- try(svyciprop(f, d, method = m), silent = TRUE)
  if (inherits(p, "try-error")) return(rep(NA, 4))
  c(coef(p), SE(p), confint(p))
}
for (m in c("logit", "beta", "mean", "likelihood", "asin")) {
  a <- ciprop4(~high, subset(cal, stype == "M"), m)   # a domain of a calibrated design
  b <- ciprop4(~I(api00 > 0), cal, m)                  # p = 1 on a calibrated design
  put(paste0("clus1_cal_ciprop_", m), estimate = c(a[1], b[1]), se = c(a[2], b[2]),
      ci_low = c(a[3], b[3]), ci_high = c(a[4], b[4]))
}

cat("{\n", paste(sprintf('  "%s": %s', names(out), unlist(out)), collapse = ",\n"), "\n}\n",
    sep = "")
