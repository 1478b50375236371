package org.tessera.core.collective;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link Collective} among threads of one JVM: {@link #create} returns one member per rank, to
 * be used by one thread each. It lets tests (and single-machine runs) exercise exactly the
 * data-parallel code paths that Spark executors run over the network.
 *
 * <p>Each all-reduce publishes a copy of the caller's array, waits for every member, then every
 * rank adds the copies in rank order itself, so all ranks get bit-identical sums without a
 * coordinator. Every wait has a timeout: a member that never arrives (or is closed) fails the
 * others with an {@link IllegalStateException} instead of hanging them.
 */
public final class ThreadGroupCollective implements Collective {

  private final Group group;
  private final int rank;

  private ThreadGroupCollective(Group group, int rank) {
    this.group = group;
    this.rank = rank;
  }

  /**
   * {@code size} members of a new group, index = rank; a call waits at most {@code timeoutMillis}
   * for the other members.
   */
  public static List<Collective> create(int size, long timeoutMillis) {
    if (size <= 0) {
      throw new IllegalArgumentException("group size=" + size + " must be > 0");
    }
    if (timeoutMillis <= 0) {
      throw new IllegalArgumentException("timeoutMillis=" + timeoutMillis + " must be > 0");
    }
    Group group = new Group(size, timeoutMillis);
    List<Collective> members = new ArrayList<>();
    for (int r = 0; r < size; r++) {
      members.add(new ThreadGroupCollective(group, r));
    }
    return Collections.unmodifiableList(members);
  }

  @Override
  public int rank() {
    return rank;
  }

  @Override
  public int size() {
    return group.slots.length;
  }

  @Override
  public void allReduceSum(float[] data) {
    group.slots[rank] = data.clone();
    group.await(rank);
    int n = data.length;
    for (int r = 0; r < group.slots.length; r++) {
      if (!(group.slots[r] instanceof float[] f) || f.length != n) {
        group.fail(rank, "rank " + r + " passed " + describe(group.slots[r]) + " to the float "
            + "all-reduce where rank " + rank + " passed float[" + n + "]");
      }
    }
    float[] sum = ((float[]) group.slots[0]).clone();
    for (int r = 1; r < group.slots.length; r++) {
      float[] other = (float[]) group.slots[r];
      for (int i = 0; i < n; i++) {
        sum[i] += other[i];
      }
    }
    // Nobody may overwrite a slot before every rank has read them all.
    group.await(rank);
    System.arraycopy(sum, 0, data, 0, n);
  }

  @Override
  public void allReduceSum(double[] data) {
    group.slots[rank] = data.clone();
    group.await(rank);
    int n = data.length;
    for (int r = 0; r < group.slots.length; r++) {
      if (!(group.slots[r] instanceof double[] d) || d.length != n) {
        group.fail(rank, "rank " + r + " passed " + describe(group.slots[r]) + " to the double "
            + "all-reduce where rank " + rank + " passed double[" + n + "]");
      }
    }
    double[] sum = ((double[]) group.slots[0]).clone();
    for (int r = 1; r < group.slots.length; r++) {
      double[] other = (double[]) group.slots[r];
      for (int i = 0; i < n; i++) {
        sum[i] += other[i];
      }
    }
    group.await(rank);
    System.arraycopy(sum, 0, data, 0, n);
  }

  private static String describe(Object slot) {
    if (slot instanceof float[] f) {
      return "float[" + f.length + "]";
    }
    return slot instanceof double[] d ? "double[" + d.length + "]" : "nothing";
  }

  /** Breaks the group: members waiting now or later fail instead of waiting for this one. */
  @Override
  public void close() {
    group.barrier.reset();
    group.closed = true;
  }

  private static final class Group {
    final Object[] slots;
    final CyclicBarrier barrier;
    final long timeoutMillis;
    volatile boolean closed;

    Group(int size, long timeoutMillis) {
      this.slots = new Object[size];
      this.barrier = new CyclicBarrier(size);
      this.timeoutMillis = timeoutMillis;
    }

    void await(int rank) {
      if (closed) {
        throw new IllegalStateException("collective rank " + rank + ": the group was closed");
      }
      try {
        barrier.await(timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        throw new IllegalStateException("collective rank " + rank + ": not every one of the "
            + slots.length + " members arrived within " + timeoutMillis + " ms", e);
      } catch (BrokenBarrierException e) {
        throw new IllegalStateException("collective rank " + rank + ": another member failed, "
            + "timed out or closed the group", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("collective rank " + rank + ": interrupted", e);
      }
    }

    /** Every rank sees the same mismatch, so all of them fail here rather than hang later. */
    void fail(int rank, String message) {
      barrier.reset();
      throw new IllegalStateException("collective rank " + rank + ": " + message);
    }
  }
}
