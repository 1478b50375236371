package org.tessera.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class SymmetricEigen3Test {

  @Test
  void randomSymmetricMatricesSatisfyTheEigenEquation() {
    Random rnd = new Random(11);
    for (int trial = 0; trial < 2000; trial++) {
      double scale = Math.pow(10, rnd.nextInt(13) - 6);
      double[][] a = new double[3][3];
      for (int i = 0; i < 3; i++) {
        for (int j = i; j < 3; j++) {
          a[i][j] = scale * rnd.nextGaussian();
          a[j][i] = a[i][j];
        }
      }
      assertDecomposition(a);
    }
  }

  @Test
  void degenerateSpectraAreHandled() {
    assertDecomposition(new double[][] {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}});
    assertDecomposition(new double[][] {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}});
    assertDecomposition(new double[][] {{2, 1, 0}, {1, 2, 0}, {0, 0, 3}});
    assertDecomposition(new double[][] {{5, 5, 5}, {5, 5, 5}, {5, 5, 5}});
    assertDecomposition(new double[][] {{1, 1e-300, 0}, {1e-300, 1, 0}, {0, 0, -1}});
    assertDecomposition(new double[][] {{1e200, 1e200, 0}, {1e200, -1e200, 0}, {0, 0, 0}});
  }

  @Test
  void knownSpectrumInDescendingOrder() {
    SymmetricEigen3.Result r =
        SymmetricEigen3.decompose(new double[][] {{2, 1, 0}, {1, 2, 0}, {0, 0, -4}});
    assertArrayEquals(new double[] {3, 1, -4}, r.values(), 1e-14);
    double s = Math.sqrt(0.5);
    assertEquals(1, Math.abs(r.vectors()[0][0] * s + r.vectors()[0][1] * s), 1e-14);
    assertEquals(1, Math.abs(r.vectors()[2][2]), 1e-14);
  }

  @Test
  void rejectsNonFiniteEntries() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SymmetricEigen3.decompose(new double[][] {{1, Double.NaN, 0}, {0, 1, 0}, {0, 0, 1}}));
    assertTrue(e.getMessage().contains("[0][1]"), e.getMessage());
  }

  private static void assertDecomposition(double[][] a) {
    SymmetricEigen3.Result r = SymmetricEigen3.decompose(a);
    double norm = 0;
    for (double[] row : a) {
      for (double x : row) {
        norm = Math.max(norm, Math.abs(x));
      }
    }
    double tol = 1e-13 * Math.max(norm, Double.MIN_NORMAL);
    for (int k = 0; k < 3; k++) {
      if (k > 0) {
        assertTrue(r.values()[k - 1] >= r.values()[k], "eigenvalues must be descending");
      }
      double[] v = r.vectors()[k];
      for (int i = 0; i < 3; i++) {
        double av = a[i][0] * v[0] + a[i][1] * v[1] + a[i][2] * v[2];
        assertEquals(r.values()[k] * v[i], av, tol, "A v = lambda v, component " + i);
      }
      for (int l = 0; l < 3; l++) {
        double dot = v[0] * r.vectors()[l][0] + v[1] * r.vectors()[l][1] + v[2] * r.vectors()[l][2];
        assertEquals(k == l ? 1 : 0, dot, 1e-13, "orthonormal eigenvectors");
      }
    }
  }
}
