# GaussSuppression side of benchmarks/bench_suppression_economy.py (not used by the tests).
#
# Usage: Rscript bench_suppression_economy.R INNER.csv CELLS.csv OUT.csv [LP]
#   INNER.csv: school, district, gender, grade, b, freq -- the inner cells of one table:
#              b = "1" respondents with the attribute, b = "0" without (freq may be 0)
#   CELLS.csv: geo, gender, grade, primary, need -- every published cell (geo = school,
#              district or "Total" for the city; margins "Total"), the Python side's
#              primary flag and the interval width it needs (min(min_count, n))
#   OUT.csv:   geo, gender, grade, b, freq, primary, suppressed, suppressed_integer, lo, up
#   LP:        the LP package (default: the first installed of highs, Rsymphony, Rglpk, lpSolve)
# Prints one line "seconds <elapsed> lp <package> version <GaussSuppression version>".
#
# The table is school/district/city x gender x grade x b with all margins; b = "Total" is n.
# The attribute's count (b = "1") and its complement (b = "0") get the Python side's primary
# cells with interval requirement rlim = need; n is meant to be public: GaussSuppression
# refuses `forced` cells together with interval suppression, so the n cells are put first
# among the candidates (published in preference) and the Python side reports any n hidden.

args <- commandArgs(trailingOnly = TRUE)
if (!length(args) %in% 3:4) stop("usage: Rscript bench_suppression_economy.R INNER CELLS OUT [LP]")
suppressPackageStartupMessages(library(GaussSuppression))

lp <- NULL
for (p in c(args[4][!is.na(args[4])], "highs", "Rsymphony", "Rglpk", "lpSolve")) {
  if (requireNamespace(p, quietly = TRUE)) {
    lp <- p
    break
  }
}
if (is.null(lp)) stop("no LP package for GaussSuppression (highs, Rsymphony, Rglpk, lpSolve)")

cc <- c(school = "character", district = "character", gender = "character",
        grade = "character", b = "character", geo = "character")
inner <- read.csv(args[1], colClasses = cc)
cells <- read.csv(args[2], colClasses = cc)
key <- function(geo, gender, grade) paste(geo, gender, grade, sep = "|")
primary_of <- setNames(as.logical(cells$primary), key(cells$geo, cells$gender, cells$grade))
need_of <- setNames(as.numeric(cells$need), key(cells$geo, cells$gender, cells$grade))

# the Python side's primary cells, with their interval width requirement
our_primary <- function(crossTable, ...) {
  k <- key(crossTable$school, crossTable$gender, crossTable$grade)
  if (anyNA(primary_of[k])) stop("a GaussSuppression cell is not among the published cells")
  p <- unname(primary_of[k]) & crossTable$b != "Total"
  list(p, numExtra = data.frame(rlim_freq = ifelse(p, unname(need_of[k]), 0)))
}
# the default order (large cells published in preference), with the n cells first
n_first <- function(freq, x, crossTable, ...) {
  cand <- CandidatesDefault(freq = freq, x = x, secondaryZeros = FALSE, weight = NULL)
  is_n <- crossTable$b[cand] == "Total"
  c(cand[is_n], cand[!is_n])
}

t0 <- proc.time()[["elapsed"]]
out <- GaussSuppressionFromData(
  inner, dimVar = c("school", "district", "gender", "grade", "b"), freqVar = "freq",
  primary = our_primary, candidates = n_first, protectZeros = TRUE, secondaryZeros = FALSE,
  singletonMethod = "none", extend0 = FALSE, lpPackage = lp, printInc = FALSE)
elapsed <- proc.time()[["elapsed"]] - t0

names(out)[names(out) == "school"] <- "geo"
write.csv(out[, c("geo", "gender", "grade", "b", "freq", "primary", "suppressed",
                  "suppressed_integer", "lo", "up")], args[3], row.names = FALSE)
cat("seconds", elapsed, "lp", lp, "version", as.character(packageVersion("GaussSuppression")),
    "\n")
