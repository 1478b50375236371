/** Immutable values shared by every stage: slide identities and the records stages exchange. */
package org.tessera.core.data;
