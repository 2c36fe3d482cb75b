# Reference values for ssp_research.analysis.small_area (Fay-Herriot EBLUP and its MSE) from
# R's sae package (Molina & Marhuenda), functions eblupFH() and mseFH().
# The inputs (direct estimates, sampling variances, covariates) are written into the JSON too,
# so the Python tests need neither R nor the sae data sets.
# Regenerate (R >= 4 with sae 1.3, which needs MASS and lme4; jsonlite is not needed):
#   Rscript tests/reference/small_area_reference.R > tests/reference/small_area_reference.json
# Debian 12 has no r-cran-sae: install r-cran-lme4 with apt-get, then the CRAN source release
# of sae 1.3 with `R CMD INSTALL sae_1.3.tar.gz` (pure R, nothing to compile).
# PRECISION is set to 1e-12 (sae's default is a relative change of 1e-4 in sigma2_u between
# Fisher-scoring steps), so that the reference is the converged estimate.
suppressPackageStartupMessages(library(sae))
set.seed(20261214)
PREC <- 1e-12
MAXIT <- 1000

num <- function(x) sprintf("%.17g", x)
vec <- function(x) paste0("[", paste(num(as.numeric(x)), collapse = ", "), "]")
items <- character(0)
put <- function(key, value) items[[length(items) + 1]] <<- sprintf('  "%s": %s', key, value)

fit_case <- function(name, formula, vardir, data, methods = c("REML", "ML", "FH")) {
  for (m in methods) {
    r <- eval(substitute(mseFH(f, v, method = m, MAXITER = MAXIT, PRECISION = PREC, data = data),
                         list(f = formula, v = as.name(vardir), m = m)))
    stopifnot(r$est$fit$convergence)
    key <- paste0(name, "_", tolower(m))
    put(paste0(key, "_eblup"), vec(r$est$eblup))
    put(paste0(key, "_mse"), vec(r$mse))
    put(paste0(key, "_sigma2_u"), num(r$est$fit$refvar))
    put(paste0(key, "_beta"), vec(r$est$fit$estcoef[, "beta"]))
    put(paste0(key, "_loglike"), num(r$est$fit$goodness["loglike"]))
  }
}

# 1. milk (Arora & Lahiri 1997): 43 areas, the 4 major areas as a factor (the sae examples) ----
data(milk)
milk$var <- milk$SD^2
put("milk_y", vec(milk$yi))
put("milk_var", vec(milk$var))
put("milk_major", vec(milk$MajorArea))
fit_case("milk", yi ~ as.factor(MajorArea), "var", milk)

# 2. schools: 30 proportions with a continuous covariate, binomial sampling variances ---------
m <- 30
size <- sample(20:300, m, replace = TRUE)
x <- rnorm(m)
p <- plogis(-1.4 + 0.4 * x + rnorm(m, 0, 0.35))
y <- rbinom(m, size, p) / size
sch <- data.frame(y = y, x = x, n = size, var = pmax(y * (1 - y), 0.02) / size)
put("school_y", vec(sch$y))
put("school_x", vec(sch$x))
put("school_var", vec(sch$var))
fit_case("school", y ~ x, "var", sch)

# 3. boundary: direct estimates less variable than their sampling variances (sigma2_u = 0) ----
m <- 12
bnd <- data.frame(x = seq(-1, 1, length.out = m), var = rep(c(0.01, 0.02, 0.04), 4))
bnd$y <- 0.3 + 0.05 * bnd$x + rnorm(m, 0, 0.03)
put("boundary_y", vec(bnd$y))
put("boundary_x", vec(bnd$x))
put("boundary_var", vec(bnd$var))
# (sae's FH moment iteration does not converge here: its root is below 0; not compared)
fit_case("boundary", y ~ x, "var", bnd, methods = c("REML", "ML"))

put("sae_version", sprintf('"%s"', as.character(packageVersion("sae"))))
cat("{\n", paste(items, collapse = ",\n"), "\n}\n", sep = "")
