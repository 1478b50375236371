/**
 * Slide-level metrics computed from predicted class probabilities: what training reports every
 * epoch and what evaluation and the report build on.
 */
package org.tessera.core.eval;
