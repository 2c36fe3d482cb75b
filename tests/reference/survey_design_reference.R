# Reference values for ssp_research.design and ssp_research.estimate, from R's survey package.
#
# Run from the repository root:
#   Rscript tests/reference/survey_design_reference.R > tests/reference/survey_design_reference.json
# (R 4 with survey 4.1.1; no other packages: JSON is written by hand below.)
#
# Data: the .rda files shipped with survey (api, yrbs, fpc, mu284, hospital); the tests load the
# same files with the Python `rdata` package (tests/reference/rdata_loader.py).
# Every case is {"by": {col: [labels]}, "estimate": [...], "se": [...], "ci_low": [...],
# "ci_high": [...], "df": [...]}, one element per domain (or one without `by`).

suppressMessages(library(survey))
data(api); data(yrbs); data(fpc); data(mu284); data(hospital)
for (nm in c("apiclus1", "apiclus2", "apistrat")) {
  d <- get(nm)
  d$yes <- as.numeric(d$sch.wide == "Yes")
  d$yes[d$stype == "H" & seq_len(nrow(d)) %% 5 == 0] <- NA     # planted missing values
  d$high <- as.numeric(d$api00 > 800)
  assign(nm, d)
}
apistrat$frac <- ave(rep(1, nrow(apistrat)), apistrat$stype, FUN = sum) / apistrat$fpc
yrbs$q8 <- as.numeric(yrbs$qn8 == 1)

designs <- list(
  clus1 = svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1),
  clus1_nofpc = svydesign(id = ~dnum, weights = ~pw, data = apiclus1),
  strat = svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat),
  strat_frac = svydesign(id = ~1, strata = ~stype, fpc = ~frac, data = apistrat),
  clus2 = svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2),
  clus2_wr = svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2),
  yrbs = svydesign(id = ~psu, strata = ~stratum, weights = ~weight, nest = TRUE, data = yrbs),
  fpc = svydesign(id = ~psuid, strata = ~stratid, weights = ~weight, fpc = ~Nh, nest = TRUE,
                  data = fpc),
  mu284 = svydesign(id = ~id1 + id2, fpc = ~n1 + n2, data = mu284),
  hospital = svydesign(id = ~hospno, strata = ~oblevel, fpc = ~tothosp, weights = ~weighta,
                       data = hospital)
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
put <- function(name, est, se, lo = NULL, hi = NULL, df = NULL, by = NULL, extra = list()) {
  items <- list(estimate = num(est), se = num(se))
  if (!is.null(lo)) items$ci_low <- num(lo)
  if (!is.null(hi)) items$ci_high <- num(hi)
  if (!is.null(df)) items$df <- num(df)
  if (!is.null(by)) items$by <- obj(lapply(by, strs))
  for (k in names(extra)) items[[k]] <- num(extra[[k]])
  out[[name]] <<- obj(items)
}
stat <- function(name, s, df = NULL, deff = FALSE) {
  ci <- confint(s)
  extra <- if (deff) list(deff = diag(as.matrix(attr(s, "deff")))) else list()
  put(name, coef(s), SE(s), ci[, 1], ci[, 2], df, extra = extra)
}
bystat <- function(name, b, byvars, df = NULL) {
  ci <- confint(b)
  put(name, coef(b), SE(b), ci[, 1], ci[, 2], df, by = as.list(b[, byvars, drop = FALSE]))
}
domdf <- function(des, byvars) {
  f <- interaction(des$variables[, byvars, drop = FALSE])
  sapply(levels(droplevels(f)), function(l) degf(des[f == l & !is.na(f), ]))
}

# ---- degrees of freedom ---------------------------------------------------------------------
for (nm in names(designs)) out[[paste0("degf_", nm)]] <- num(degf(designs[[nm]]))

# ---- means, totals, ratios: every design ------------------------------------------------------
for (nm in c("clus1", "clus1_nofpc", "strat", "strat_frac", "clus2", "clus2_wr")) {
  des <- designs[[nm]]
  stat(paste0(nm, "_mean_api00"), svymean(~api00, des), deff = FALSE)
  stat(paste0(nm, "_mean_api00_deff"), svymean(~api00, des, deff = TRUE), deff = TRUE)
  stat(paste0(nm, "_total_enroll"), svytotal(~enroll, des, na.rm = TRUE))
  stat(paste0(nm, "_total_enroll_deff"), svytotal(~enroll, des, na.rm = TRUE, deff = TRUE),
       deff = TRUE)
  stat(paste0(nm, "_mean_avg_ed"), svymean(~avg.ed, des, na.rm = TRUE))
  r <- svyratio(~api.stu, ~enroll, des, na.rm = TRUE)
  ci <- confint(r)
  put(paste0(nm, "_ratio"), coef(r), SE(r), ci[, 1], ci[, 2])
  b <- svyby(~api00, ~stype, des, svymean)
  bystat(paste0(nm, "_by_stype_mean_api00"), b, "stype", domdf(des, "stype"))
  b <- svyby(~api00, ~stype, des, svymean, deff = TRUE)
  put(paste0(nm, "_by_stype_mean_api00_deff"), coef(b), SE(b), by = list(stype = b$stype),
      extra = list(deff = deff(b)))
  b <- svyby(~avg.ed, ~stype + sch.wide, des, svymean, na.rm = TRUE)
  bystat(paste0(nm, "_by_stype_wide_mean_avg_ed"), b, c("stype", "sch.wide"))
  b <- svyby(~enroll, ~stype, des, svytotal, na.rm = TRUE)
  bystat(paste0(nm, "_by_stype_total_enroll"), b, "stype")
  b <- svyby(~api.stu, ~stype, des, svyratio, denominator = ~enroll, na.rm = TRUE)
  ci <- confint(b)
  put(paste0(nm, "_by_stype_ratio"), coef(b), SE(b), ci[, 1], ci[, 2],
      by = list(stype = b$stype))
  s <- svymean(~api00, subset(des, stype == "E"))
  stat(paste0(nm, "_subset_E_mean_api00"), s, degf(subset(des, stype == "E")))
  # proportions: every svyciprop method, overall and by domain
  for (m in c("logit", "likelihood", "asin", "beta", "mean", "xlogit")) {
    p <- svyciprop(~yes, des, method = m, na.rm = TRUE)
    ci <- attr(p, "ci")
    put(paste0(nm, "_ciprop_yes_", m), coef(p), SE(p), ci[1], ci[2], degf(des))
    b <- svyby(~yes, ~stype, des, svyciprop, method = m, vartype = c("se", "ci"),
              na.rm = TRUE)
    put(paste0(nm, "_by_stype_ciprop_yes_", m), b[, 2], b$se, b$ci_l, b$ci_u,
        domdf(des, "stype"), by = list(stype = b$stype))
  }
  # quantiles (qrule = "math", interval.type = "mean": survey 4.x defaults)
  q <- svyquantile(~api00, des, c(0.25, 0.5, 0.75), ci = TRUE)$api00
  put(paste0(nm, "_quantile_api00"), q[, 1], q[, 4], q[, 2], q[, 3], rep(degf(des), 3))
  q <- svyquantile(~avg.ed, des, c(0.1, 0.5), ci = TRUE, na.rm = TRUE)$avg.ed
  put(paste0(nm, "_quantile_avg_ed"), q[, 1], q[, 4], q[, 2], q[, 3])
  b <- svyby(~api00, ~stype, des, svyquantile, quantiles = 0.5, ci = TRUE,
             vartype = c("se", "ci"))
  put(paste0(nm, "_by_stype_quantile_api00"), b[, 2], b[, 3], b[, 4], b[, 5],
      by = list(stype = b$stype))
}

# ---- other shipped designs -------------------------------------------------------------------
for (m in c("logit", "beta", "mean", "likelihood")) {
  p <- svyciprop(~q8, designs$yrbs, method = m, na.rm = TRUE)
  ci <- attr(p, "ci")
  put(paste0("yrbs_ciprop_q8_", m), coef(p), SE(p), ci[1], ci[2], degf(designs$yrbs))
}
stat("fpc_mean_x", svymean(~x, designs$fpc))
stat("fpc_total_x", svytotal(~x, designs$fpc))
stat("mu284_mean_y1", svymean(~y1, designs$mu284))
stat("mu284_total_y1", svytotal(~y1, designs$mu284))
stat("hospital_mean_births", svymean(~births, designs$hospital))
stat("hospital_total_births", svytotal(~births, designs$hospital))

# ---- lonely PSUs: apistrat stratified by district (many single-school strata) --------------
for (opt in c("remove", "certainty", "adjust", "average")) {
  options(survey.lonely.psu = opt)
  des <- svydesign(id = ~1, strata = ~dnum, weights = ~pw, data = apistrat)
  stat(paste0("lonely_", opt, "_mean_api00"), svymean(~api00, des))
  stat(paste0("lonely_", opt, "_total_enroll"), svytotal(~enroll, des))
  b <- svyby(~api00, ~stype, des, svymean)
  bystat(paste0("lonely_", opt, "_by_stype_mean_api00"), b, "stype")
  des2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + I(fpc2 + 1), data = apiclus2)
  stat(paste0("lonely2_", opt, "_mean_api00"), svymean(~api00, des2))
  b <- svyby(~api00, ~stype, des2, svymean)
  bystat(paste0("lonely2_", opt, "_by_stype_mean_api00"), b, "stype")
}
options(survey.lonely.psu = "fail")

cat("{\n", paste(sprintf('  "%s": %s', names(out), unlist(out)), collapse = ",\n"), "\n}\n",
    sep = "")
