/**
 * Tessera's cluster-free core: data types, models, optimisation and evaluation that run and are
 * tested in one JVM, so the Spark jobs only distribute work and never own an algorithm.
 */
package org.tessera.core;
