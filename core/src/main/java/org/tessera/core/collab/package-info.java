/**
 * The data-independent parts of the collaborative patch/slide EM loop (Bayesian Collaborative
 * Learning): which tiles of a slide become pseudo-labelled training patches for the patch
 * encoder in each round, and with which patch class. Kept free of Spark so the rules are tested
 * directly and read the same wherever the loop runs.
 */
package org.tessera.core.collab;
