# Reference values for ssp_research.indicators and ssp_research.effects from R's survey package.
# The script simulates a small city survey (seeded), writes it to
# tests/reference/effects_reference_data.csv (read by the Python tests) and prints the JSON.
# Regenerate (R >= 4 with survey; no jsonlite needed):
#   Rscript tests/reference/trend_reference.R > tests/reference/trend_reference.json
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "adjust")
set.seed(20251122)

out_csv <- "tests/reference/effects_reference_data.csv"
waves <- c(2019, 2021, 2023, 2025)
districts <- c("Heimdal", "Lerkendal", "Midtbyen", "Ostbyen")
schools <- data.frame(school = sprintf("%s_%d", rep(districts, each = 3), 1:3),
                      district = rep(districts, each = 3))
schools$u <- rnorm(nrow(schools), 0, 0.35)                 # school random intercept (logit)
schools$pilot <- schools$school %in% c("Heimdal_1", "Lerkendal_2", "Midtbyen_3", "Ostbyen_1")
d <- do.call(rbind, lapply(waves, function(wv) {
  n <- 1100
  s <- sample(nrow(schools), n, replace = TRUE, prob = rep(c(1, 1.5, 0.7), 4))
  data.frame(wave = wv, school = schools$school[s], district = schools$district[s],
             pilot = schools$pilot[s], u = schools$u[s],
             grade = sample(8:10, n, replace = TRUE, prob = c(.3, .33, .37)),
             gender = sample(c("girl", "boy"), n, replace = TRUE))
}))
d$family_economy <- pmin(5, pmax(1, round(rnorm(nrow(d), 3.6, 0.9))))
d$weight <- runif(nrow(d), 0.6, 1.6)
step <- (d$wave - 2019) / 2
post <- d$wave >= 2023
lp <- -1.6 + 0.12 * step + 0.55 * (d$gender == "girl") + 0.1 * (d$grade - 9) -
  0.35 * (d$family_economy - 3) + d$u - 0.5 * (d$pilot & post)
d$ind_lonely <- rbinom(nrow(d), 1, plogis(lp))
d$ind_lonely[runif(nrow(d)) < 0.05] <- NA
d$ind_bullied <- rbinom(nrow(d), 1, plogis(-2.4 + 0.2 * step + d$u))
d$climate <- 3.4 + d$u + rnorm(nrow(d), 0, 0.8)
d$u <- NULL
write.csv(d, out_csv, row.names = FALSE)

d <- read.csv(out_csv)
d$step <- (d$wave - 2019) / 2
d$girl <- as.numeric(d$gender == "girl")
d$post <- as.numeric(d$wave >= 2023)
d$treat <- as.numeric(d$pilot == "TRUE" | d$pilot == TRUE) * d$post
d$stratum <- interaction(d$wave, d$school)
city <- svydesign(ids = ~1, strata = ~stratum, weights = ~weight, data = d)
clus <- svydesign(ids = ~school, strata = ~district, weights = ~weight, data = d)

num <- function(x) sprintf("%.17g", x)
vec <- function(x) paste0("[", paste(num(as.numeric(x)), collapse = ", "), "]")
strs <- function(x) paste0("[", paste0('"', x, '"', collapse = ", "), "]")
items <- character(0)
put <- function(name, value) items[[length(items) + 1]] <<- paste0('  "', name, '": ', value)

# 1. indicator: school Midtbyen_2 vs its district and vs the city, wave 2025 ----------------
w25 <- subset(city, wave == 2025 & !is.na(ind_lonely))
d$in_s <- as.numeric(d$school == "Midtbyen_2")
d$in_d <- as.numeric(d$district == "Midtbyen")
d$one <- 1
city <- svydesign(ids = ~1, strata = ~stratum, weights = ~weight, data = d)
w25 <- subset(city, wave == 2025 & !is.na(ind_lonely))
r <- svyratio(~I(ind_lonely * in_s) + I(ind_lonely * in_d) + I(ind_lonely * one),
              ~I(in_s) + I(in_d) + one, w25, covmat = TRUE)
est <- coef(r)[c(1, 5, 9)]
V <- vcov(r)[c(1, 5, 9), c(1, 5, 9)]
put("ind_school_district_city_est", vec(est))
put("ind_school_district_city_vcov", vec(V))
put("ind_df", num(degf(city)))
by <- svyby(~ind_lonely, ~school, subset(city, wave == 2025), svymean, na.rm = TRUE)
put("ind_schools", strs(by$school))
put("ind_school_est", vec(by$ind_lonely))
put("ind_school_se", vec(SE(by)))
ci <- svyciprop(~ind_lonely, subset(city, wave == 2025 & school == "Midtbyen_2"),
                method = "logit", df = degf(city))
put("ind_school_ci_logit", vec(attr(ci, "ci")))
# pooled 2021-2025 for the school
pooled <- svymean(~ind_lonely, subset(city, wave >= 2021 & school == "Midtbyen_2"), na.rm = TRUE)
put("ind_pooled_est_se", vec(c(coef(pooled), SE(pooled))))
# direct standardisation by grade x gender to a standard population (over schools, 2025)
stdpop <- data.frame(grade = rep(8:10, each = 2), gender = rep(c("boy", "girl"), 3),
                     pupils = c(1000, 980, 1010, 990, 1020, 1005))
s25 <- subset(city, wave == 2025 & !is.na(ind_lonely))
sd25 <- svystandardize(s25, by = ~grade + gender, over = ~school,
                       population = stdpop$pupils[order(stdpop$gender, stdpop$grade)])
sb <- svyby(~ind_lonely, ~school, sd25, svymean)
put("std_schools", strs(sb$school))
put("std_est", vec(sb$ind_lonely))
put("std_se", vec(SE(sb)))

# 2. trend: logistic on wave step (city design), unadjusted and adjusted -----------------------
m1 <- svyglm(ind_lonely ~ step, city, family = quasibinomial())
put("trend_coef", vec(coef(m1)))
put("trend_se", vec(SE(m1)))
put("trend_df", num(m1$df.residual))
m2 <- svyglm(ind_lonely ~ step + girl + factor(grade), city, family = quasibinomial())
put("trend_adj_coef", vec(coef(m2)))
put("trend_adj_se", vec(SE(m2)))
p <- predict(m1, newdata = data.frame(step = 0:3), type = "response", vcov = TRUE)
put("trend_pred", vec(coef(p)))
put("trend_pred_se", vec(SE(p)))

# 3. gaps: girls - boys (difference of proportions), gradient (log-odds per step) -------------
g25 <- subset(city, wave == 2025 & !is.na(ind_lonely))
gb <- svyby(~ind_lonely, ~gender, g25, svymean, covmat = TRUE)
gc <- svycontrast(gb, c(boy = -1, girl = 1))
put("gap_gender", vec(c(coef(gc), SE(gc))))
mg <- svyglm(ind_lonely ~ family_economy, g25, family = quasibinomial())
put("gradient_coef", vec(coef(mg)))
put("gradient_se", vec(SE(mg)))

# 4. pilot DiD: two-way fixed effects logistic, school-clustered -------------------------------
md <- svyglm(ind_lonely ~ treat + factor(school) + factor(wave), clus, family = quasibinomial())
put("did_coef", num(coef(md)["treat"]))
put("did_se", num(SE(md)["treat"]))
put("did_df", num(md$df.residual))

# 5. ssp glm: the city design (as 2.) and simple random sampling (--design srs) ---------------
srs <- svydesign(ids = ~1, data = d)
ms <- svyglm(ind_lonely ~ step + girl, srs, family = quasibinomial())
put("glm_srs_coef", vec(coef(ms)))
put("glm_srs_se", vec(SE(ms)))
put("glm_srs_df", num(ms$df.residual))

cat("{\n", paste(items, collapse = ",\n"), "\n}\n", sep = "")
