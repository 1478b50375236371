/** Tessera spark-jobs module. */
package org.tessera.spark;
