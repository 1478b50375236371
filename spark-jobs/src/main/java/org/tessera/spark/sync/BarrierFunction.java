package org.tessera.spark.sync;

import java.io.Serializable;
import java.util.Iterator;
import org.tessera.core.collective.Collective;

/**
 * The work of one rank in {@link BarrierCollectives#run}: gets the rank's collective and its
 * partition, returns what the driver should receive from this rank (null is fine for ranks whose
 * result is not needed). Shipped to the executors, hence serializable.
 */
@FunctionalInterface
public interface BarrierFunction<T, R> extends Serializable {
  R apply(Collective collective, Iterator<T> partition) throws Exception;
}
