/**
 * The pipeline stages as Spark applications. Algorithms live in core and wsi; this module decides
 * where work runs, how results reach storage atomically, and how a stopped stage resumes.
 */
package org.tessera.spark;
