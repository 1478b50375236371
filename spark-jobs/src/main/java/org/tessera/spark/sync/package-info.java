/**
 * The network transport behind {@link org.tessera.core.collective.Collective} for data-parallel
 * training across Spark executors.
 *
 * <p>Why it exists: synchronized BatchNorm needs two all-reduces per BN layer inside every
 * forward/backward pass, and whole gradients (about 25M floats for ResNet-50) are summed every
 * step. One Spark job per reduction costs scheduling latency and funnels every tensor through the
 * driver. Instead, {@link org.tessera.spark.sync.BarrierCollectives#run} starts one long-lived
 * task per worker in a <em>barrier stage</em>; the tasks exchange only "host:port" strings via
 * {@code BarrierTaskContext.allGather}, connect into a TCP ring and all-reduce directly between
 * executors with {@link org.tessera.spark.sync.RingCollective} (reduce-scatter then all-gather:
 * 2(K-1)/K of the data per worker per call, results bit-identical on every rank). Every ring
 * connection is authenticated with the stage's key before any tensor byte is read (see
 * {@link org.tessera.spark.sync.RingEndpoint} and {@link org.tessera.spark.sync.RingKey}), so a
 * stranger on the network cannot take a worker's place.
 *
 * <p>Limits, inherited from Spark's barrier execution mode:
 *
 * <ul>
 *   <li>All K tasks must run at the same time, so the cluster needs K free task slots. Spark
 *       checks this when the job is submitted; if there are too few slots it re-checks every
 *       {@code spark.scheduler.barrier.maxConcurrentTasksCheck.interval} (15 s) and fails the
 *       job after {@code spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures} (40)
 *       attempts with a "[SPARK-24819] ... requires more slots" error; lower those settings to
 *       fail faster.
 *   <li>Dynamic allocation is not supported: Spark rejects barrier stages when
 *       {@code spark.dynamicAllocation.enabled} is true ("[SPARK-24942]").
 *   <li>A failed task fails the whole stage and Spark kills the others. Spark reruns failed
 *       barrier stages only when they feed a shuffle; the stage of {@code run} is the job's
 *       result stage, so the job fails ("Could not recover from a failed barrier ResultStage")
 *       and {@code run} throws. Long trainings therefore checkpoint, and the caller resumes by
 *       calling {@code run} again (new tasks, new ports, new ring).
 *   <li>When a worker dies, its sockets close (its neighbours fail at once with an error naming
 *       its rank and address) or, if its host vanishes without closing them, the neighbours fail
 *       after {@link org.tessera.spark.sync.RingSettings#timeout()}; either failure closes the
 *       failing rank's connections, so the error travels round the ring and no task hangs.
 * </ul>
 */
package org.tessera.spark.sync;
