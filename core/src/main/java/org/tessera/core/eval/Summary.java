package org.tessera.core.eval;

/** A metric over cross-validation folds: mean, sample standard deviation and folds counted. */
public record Summary(double mean, double sd, int n) {}
