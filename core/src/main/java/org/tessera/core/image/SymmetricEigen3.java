package org.tessera.core.image;

import java.util.Arrays;

/**
 * Eigen-decomposition of a real symmetric 3x3 matrix by cyclic Jacobi rotations. Macenko stain
 * estimation needs the two principal axes of a 3x3 optical-density covariance for every tile;
 * Jacobi is exact to rounding for symmetric input, has no failure modes on repeated or zero
 * eigenvalues, and keeps the eigenvectors orthonormal, which a general-purpose solver (or a
 * pulled-in linear-algebra library for one 3x3 matrix) would not guarantee as cheaply.
 */
final class SymmetricEigen3 {
  private static final int MAX_SWEEPS = 50;

  /**
   * @param values  eigenvalues, largest first
   * @param vectors {@code vectors[k]} is the unit eigenvector of {@code values[k]}
   */
  record Result(double[] values, double[][] vectors) {}

  private SymmetricEigen3() {}

  /**
   * Decomposes {@code m}, which must be symmetric (only the upper triangle is read, so tiny
   * asymmetries from rounding do no harm).
   */
  static Result decompose(double[][] m) {
    double maxAbs = 0;
    for (int i = 0; i < 3; i++) {
      for (int j = i; j < 3; j++) {
        if (!Double.isFinite(m[i][j])) {
          throw new IllegalArgumentException(
              "symmetric eigen-decomposition: entry [" + i + "][" + j + "] is " + m[i][j]
                  + "; the matrix must be finite");
        }
        maxAbs = Math.max(maxAbs, Math.abs(m[i][j]));
      }
    }
    // Working on m / maxAbs keeps the convergence test free of overflow and underflow for
    // matrices of any magnitude.
    double unit = maxAbs == 0 ? 1 : maxAbs;
    double[][] a = new double[3][3];
    for (int i = 0; i < 3; i++) {
      for (int j = i; j < 3; j++) {
        a[i][j] = m[i][j] / unit;
        a[j][i] = a[i][j];
      }
    }
    double[][] v = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
      double off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
      if (off <= 1e-32) {
        break;
      }
      rotate(a, v, 0, 1);
      rotate(a, v, 0, 2);
      rotate(a, v, 1, 2);
    }
    return sorted(a, v, unit);
  }

  /** One Jacobi rotation in the (p, q) plane that zeroes a[p][q] (Golub and Van Loan, 8.5). */
  private static void rotate(double[][] a, double[][] v, int p, int q) {
    double apq = a[p][q];
    if (apq == 0) {
      return;
    }
    double theta = (a[q][q] - a[p][p]) / (2 * apq);
    // t = tan of the rotation angle, the smaller root of t^2 + 2 theta t - 1 = 0 (|t| <= 1 keeps
    // the updates stable); for huge theta, t ~ 1/(2 theta) avoids overflowing theta * theta.
    double t;
    if (theta == 0) {
      t = 1;
    } else if (Math.abs(theta) > 1e150) {
      t = 1 / (2 * theta);
    } else {
      t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
    }
    double c = 1 / Math.sqrt(t * t + 1);
    double s = t * c;
    for (int k = 0; k < 3; k++) {
      double akp = a[k][p];
      double akq = a[k][q];
      a[k][p] = c * akp - s * akq;
      a[k][q] = s * akp + c * akq;
    }
    for (int k = 0; k < 3; k++) {
      double apk = a[p][k];
      double aqk = a[q][k];
      a[p][k] = c * apk - s * aqk;
      a[q][k] = s * apk + c * aqk;
    }
    for (int k = 0; k < 3; k++) {
      double vkp = v[k][p];
      double vkq = v[k][q];
      v[k][p] = c * vkp - s * vkq;
      v[k][q] = s * vkp + c * vkq;
    }
  }

  private static Result sorted(double[][] a, double[][] v, double unit) {
    Integer[] order = {0, 1, 2};
    Arrays.sort(order, (x, y) -> Double.compare(a[y][y], a[x][x]));
    double[] values = new double[3];
    double[][] vectors = new double[3][3];
    for (int k = 0; k < 3; k++) {
      int col = order[k];
      values[k] = a[col][col] * unit;
      for (int i = 0; i < 3; i++) {
        vectors[k][i] = v[i][col];
      }
    }
    return new Result(values, vectors);
  }
}
