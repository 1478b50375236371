/** Tessera core module. */
package org.tessera.core;
