# Reference values for ssp_research.weights and ssp_research.models, from R's survey package.
#
# Run from the repository root:
#   Rscript tests/reference/survey_models_reference.R > tests/reference/survey_models_reference.json
# (R 4 with survey 4.1.1; no other packages: JSON is written by hand below.)
#
# Data: survey's `api` data (apistrat, apiclus1, apipop). `yes` is sch.wide == "Yes" as 0/1.

suppressMessages(library(survey))
data(api)
apistrat$yes <- as.numeric(apistrat$sch.wide == "Yes")
apiclus1$yes <- as.numeric(apiclus1$sch.wide == "Yes")

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)

# ---- tiny JSON writer (no jsonlite on the machine) ----------------------------------------
num <- function(x) {
  x <- as.numeric(x)
  s <- ifelse(is.na(x), "null", sprintf("%.17g", x))
  if (length(x) == 1) s else paste0("[", paste(s, collapse = ", "), "]")
}
str_json <- function(x) {
  s <- paste0('"', x, '"')
  if (length(x) == 1) s else paste0("[", paste(s, collapse = ", "), "]")
}
obj <- function(...) {
  items <- list(...)
  paste0("{", paste(sprintf('"%s": %s', names(items), unlist(items)), collapse = ", "), "}")
}

glm_json <- function(m) {
  s <- summary(m)$coefficients
  ci <- confint(m)
  obj(term = str_json(rownames(s)), estimate = num(s[, 1]), se = num(s[, 2]),
      statistic = num(s[, 3]), p_value = num(s[, 4]), ci_low = num(ci[, 1]),
      ci_high = num(ci[, 2]), df = num(m$df.residual), n = num(sum(weights(m$survey.design) > 0)))
}
stat_json <- function(est, df = degf(attr(est, "design"))) {
  obj(estimate = num(coef(est)), se = num(SE(est)))
}

out <- list()

# ---- GLMs ----------------------------------------------------------------------------------
# Non-Gaussian fits use a tight IRLS tolerance: R's default (1e-8 on the deviance) leaves the
# 7th digit of logistic SEs to where IRLS happened to stop.
tight <- glm.control(epsilon = 1e-13, maxit = 100)
out$glm_strat_gaussian <- glm_json(svyglm(api00 ~ ell + meals, dstrat))
out$glm_clus1_gaussian_factor <- glm_json(svyglm(api00 ~ ell + meals + stype, dclus1))
out$glm_clus1_quasibinomial <- glm_json(svyglm(yes ~ ell + meals, dclus1,
                                              family = quasibinomial(), control = tight))
out$glm_strat_quasipoisson <- glm_json(svyglm(enroll ~ ell + meals, dstrat,
                                             family = quasipoisson(), control = tight))
out$glm_clus1_missing <- glm_json(svyglm(api00 ~ avg.ed + ell, dclus1))   # 26 NA in avg.ed
out$glm_clus1_domain_E <- glm_json(svyglm(api00 ~ ell, subset(dclus1, stype == "E")))
out$glm_strat_nointercept <- glm_json(svyglm(api00 ~ 0 + stype, dstrat))

# ---- weighting -----------------------------------------------------------------------------
pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop_wide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))

ps <- postStratify(dclus1, ~stype, pop_stype)
out$ps_clus1 <- obj(
  weights = num(weights(ps)),
  mean_api00 = stat_json(svymean(~api00, ps)),
  total_enroll = stat_json(svytotal(~enroll, ps)),
  mean_api00_domain_yes = stat_json(svymean(~api00, subset(ps, sch.wide == "Yes"))),
  glm = glm_json(svyglm(api00 ~ ell + meals, ps))
)
ps2 <- postStratify(dstrat, ~sch.wide, pop_wide)
out$ps_strat <- obj(
  weights = num(weights(ps2)),
  mean_api00 = stat_json(svymean(~api00, ps2)),
  total_enroll = stat_json(svytotal(~enroll, ps2))
)

rk <- rake(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_wide))
out$rake_clus1 <- obj(
  weights = num(weights(rk)),
  mean_api00 = stat_json(svymean(~api00, rk)),
  total_enroll = stat_json(svytotal(~enroll, rk)),
  glm = glm_json(svyglm(api00 ~ ell + meals, rk))
)
rk2 <- rake(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_wide),
            control = list(maxit = 50, epsilon = 1e-8))
out$rake_clus1_tight <- obj(
  weights = num(weights(rk2)),
  mean_api00 = stat_json(svymean(~api00, rk2))
)

cal <- calibrate(dclus1, ~api99, c(6194, 3914069))
out$cal_clus1_linear <- obj(
  weights = num(weights(cal)),
  mean_api00 = stat_json(svymean(~api00, cal)),
  total_api00 = stat_json(svytotal(~api00, cal)),
  total_enroll = stat_json(svytotal(~enroll, cal))
)
cal2 <- calibrate(dclus1, ~stype + api99, c(6194, 755, 1018, 3914069))
out$cal_clus1_factor <- obj(
  weights = num(weights(cal2)),
  mean_api00 = stat_json(svymean(~api00, cal2)),
  total_enroll = stat_json(svytotal(~enroll, cal2)),
  glm = glm_json(svyglm(api00 ~ ell + meals, cal2))
)
calb <- calibrate(dclus1, ~api99, c(6194, 3914069), bounds = c(0.7, 1.3))
out$cal_clus1_bounded <- obj(
  weights = num(weights(calb)),
  mean_api00 = stat_json(svymean(~api00, calb)),
  total_enroll = stat_json(svytotal(~enroll, calb))
)

# crossed margin (stype x sch.wide) in raking, with comp.imp; population counts from apipop
pop_sw <- as.data.frame(table(stype = apipop$stype, sch.wide = apipop$sch.wide))
pop_ci <- as.data.frame(table(comp.imp = apipop$comp.imp))
rk3 <- rake(dclus1, list(~stype + sch.wide, ~comp.imp), list(pop_sw, pop_ci),
            control = list(maxit = 50, epsilon = 1e-10))
out$rake_clus1_crossed <- obj(
  pop_sw = num(pop_sw$Freq), pop_ci = num(pop_ci$Freq),
  weights = num(weights(rk3)),
  mean_api00 = stat_json(svymean(~api00, rk3))
)
# post-stratifying a domain (R drops the rows outside it; we keep them with weight 0)
psd <- postStratify(subset(dclus1, sch.wide == "Yes"), ~stype,
                    data.frame(stype = c("E", "H", "M"), Freq = c(3949, 421, 752)))
out$ps_clus1_in_domain <- obj(
  mean_api00 = stat_json(svymean(~api00, psd)),
  total_enroll = stat_json(svytotal(~enroll, psd))
)

# ---- two-stage design ----------------------------------------------------------------------
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
out$glm_clus2_gaussian <- glm_json(svyglm(api00 ~ ell + meals, dclus2))

# ---- tests and contrasts -------------------------------------------------------------------
tt_json <- function(tt) {
  obj(estimate = num(tt$estimate), statistic = num(tt$statistic), df = num(tt$parameter),
      p_value = num(tt$p.value), ci_low = num(tt$conf.int[1]), ci_high = num(tt$conf.int[2]))
}
out$ttest_clus1 <- tt_json(svyttest(api00 ~ sch.wide, dclus1))
out$ttest_strat <- tt_json(svyttest(api00 ~ sch.wide, dstrat))

m0 <- svyglm(api00 ~ 0 + stype, dclus1)
con <- svycontrast(m0, list(E_minus_H = c(stypeE = 1, stypeH = -1),
                            E_minus_M = c(stypeE = 1, stypeM = -1)))
out$contrast_clus1_domains <- obj(estimate = num(coef(con)), se = num(SE(con)),
                                  degf = num(degf(dclus1)))
out$domain_total_enroll_E <- stat_json(svytotal(~enroll, subset(dclus1, stype == "E")))
out$domain_mean_api00_E_yes <- stat_json(svymean(~api00, subset(dclus1, stype == "E" &
                                                                  sch.wide == "Yes")))
con2 <- svycontrast(svymean(~api00 + api99, dclus1), c(api00 = 1, api99 = -1))
out$contrast_clus1_paired <- obj(estimate = num(coef(con2)), se = num(SE(con2)))

chisq_json <- function(f, d) {
  a <- svychisq(f, d, statistic = "F")
  b <- svychisq(f, d, statistic = "Chisq")
  obj(F = num(a$statistic), ndf = num(a$parameter[1]), ddf = num(a$parameter[2]),
      p_F = num(a$p.value), X2 = num(b$statistic), df_chisq = num(b$parameter),
      p_chisq = num(b$p.value))
}
out$chisq_clus1 <- chisq_json(~sch.wide + stype, dclus1)
out$chisq_strat <- chisq_json(~sch.wide + stype, dstrat)
out$chisq_clus1_3x2 <- chisq_json(~stype + comp.imp, dclus1)
# missing values in one variable (rows 1-10 of sch.wide set to NA; R drops them, N counts all)
apiclus1_na <- apiclus1
apiclus1_na$sch.wide[1:10] <- NA
dclus1_na <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1_na, fpc = ~fpc)
out$chisq_clus1_missing <- chisq_json(~sch.wide + stype, dclus1_na)

cat("{\n", paste(sprintf('  "%s": %s', names(out), unlist(out)), collapse = ",\n"), "\n}\n",
    sep = "")
