package org.tessera.spark.io;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoRegistrator;
import org.apache.spark.serializer.KryoSerializer;

/**
 * Kryo for Tessera's Spark applications. Spark 3.5 ships Kryo 4, whose field serializer writes
 * final fields through {@code Unsafe} offsets, which Java 17 refuses for records ("can't get
 * field offset on a record class"); and it rebuilds a collection by instantiating its class and
 * calling {@code add}, which {@code List.of}'s and {@code Map.of}'s immutable classes refuse. The
 * stages send both in tasks, broadcasts and results. This registrator gives every record a
 * serializer that writes its components and reads them back through the canonical constructor,
 * and serializes the JDK's immutable collections as their elements, rebuilt immutable.
 *
 * <p>{@link #configure} is what every stage's session gets unless the user chose a serializer.
 */
public final class TesseraKryo implements KryoRegistrator {
  static final String SERIALIZER = "spark.serializer";
  static final String REGISTRATOR = "spark.kryo.registrator";

  /** Kryo with this registrator, unless the configuration already names a serializer. */
  public static void configure(SparkConf conf) {
    if (!conf.contains(SERIALIZER)) {
      conf.set(SERIALIZER, KryoSerializer.class.getName());
    }
    if (conf.get(SERIALIZER).equals(KryoSerializer.class.getName()) && !registered(conf)) {
      String given = conf.get(REGISTRATOR, "").strip();
      conf.set(REGISTRATOR, given.isEmpty() ? TesseraKryo.class.getName()
          : given + "," + TesseraKryo.class.getName());
    }
  }

  /** Whether this registrator is among the configured ones. */
  private static boolean registered(SparkConf conf) {
    return List.of(conf.get(REGISTRATOR, "").strip().split("\\s*,\\s*"))
        .contains(TesseraKryo.class.getName());
  }

  /**
   * One line naming what to set when a session Tessera joins (a notebook's) uses Kryo without
   * this registrator; null when the session can run the stages.
   */
  public static String problem(SparkConf conf) {
    if (!conf.get(SERIALIZER, "").equals(KryoSerializer.class.getName()) || registered(conf)) {
      return null;
    }
    return "this Spark session uses Kryo without Tessera's registrator: add "
        + REGISTRATOR + "=" + TesseraKryo.class.getName()
        + " to its configuration (Kryo cannot serialize Java records otherwise)";
  }

  @Override
  public void registerClasses(Kryo kryo) {
    kryo.addDefaultSerializer(Record.class, new RecordSerializer());
    for (Object sample : new Object[] {List.of(), List.of(1), List.of(1, 2, 3),
        List.of(1).subList(0, 1), Collections.unmodifiableList(new ArrayList<>()),
        Collections.unmodifiableList(new java.util.LinkedList<>()), Collections.emptyList()}) {
      kryo.register(sample.getClass(), ImmutableCollection.LIST);
    }
    for (Object sample : new Object[] {Set.of(), Set.of(1), Set.of(1, 2, 3),
        Collections.unmodifiableSet(new LinkedHashSet<>()), Collections.emptySet()}) {
      kryo.register(sample.getClass(), ImmutableCollection.SET);
    }
    ImmutableMap map = new ImmutableMap();
    for (Object sample : new Object[] {Map.of(), Map.of(1, 1), Map.of(1, 1, 2, 2),
        Collections.unmodifiableMap(new HashMap<>()), Collections.emptyMap()}) {
      kryo.register(sample.getClass(), map);
    }
  }

  /** A record as its components in declaration order, rebuilt by its canonical constructor. */
  static final class RecordSerializer extends Serializer<Record> {
    private final Map<Class<?>, Shape> shapes = new ConcurrentHashMap<>();

    private record Shape(MethodHandle[] getters, MethodHandle constructor) {}

    RecordSerializer() {
      setImmutable(true);
    }

    private Shape shape(Class<?> type) {
      return shapes.computeIfAbsent(type, t -> {
        try {
          RecordComponent[] parts = t.getRecordComponents();
          MethodHandles.Lookup lookup = MethodHandles.lookup();
          MethodHandle[] getters = new MethodHandle[parts.length];
          Class<?>[] types = new Class<?>[parts.length];
          for (int i = 0; i < parts.length; i++) {
            parts[i].getAccessor().setAccessible(true);
            getters[i] = lookup.unreflect(parts[i].getAccessor());
            types[i] = parts[i].getType();
          }
          Constructor<?> c = t.getDeclaredConstructor(types);
          c.setAccessible(true);
          return new Shape(getters, lookup.unreflectConstructor(c));
        } catch (ReflectiveOperationException | RuntimeException e) {
          throw new KryoException("cannot serialize record " + t.getName() + ": " + e, e);
        }
      });
    }

    @Override
    public void write(Kryo kryo, Output output, Record value) {
      for (MethodHandle getter : shape(value.getClass()).getters) {
        try {
          kryo.writeClassAndObject(output, getter.invoke(value));
        } catch (Throwable e) {
          throw rethrow(value.getClass(), e);
        }
      }
    }

    @Override
    public Record read(Kryo kryo, Input input, Class<Record> type) {
      Shape shape = shape(type);
      Object[] args = new Object[shape.getters.length];
      for (int i = 0; i < args.length; i++) {
        args[i] = kryo.readClassAndObject(input);
      }
      try {
        return (Record) shape.constructor.invokeWithArguments(args);
      } catch (Throwable e) {
        throw rethrow(type, e);
      }
    }

    private static KryoException rethrow(Class<?> type, Throwable e) {
      if (e instanceof KryoException k) {
        return k;
      }
      return new KryoException("record " + type.getName() + ": " + e, e);
    }
  }

  /**
   * Elements, then an unmodifiable collection of them: a list ({@link #LIST}; nulls allowed, as
   * the unmodifiable views do) or a set keeping their order ({@link #SET}).
   */
  static final class ImmutableCollection<C extends Collection<Object>>
      extends Serializer<Collection<?>> {
    static final ImmutableCollection<List<Object>> LIST =
        new ImmutableCollection<>(ArrayList::new, Collections::unmodifiableList);
    static final ImmutableCollection<Set<Object>> SET =
        new ImmutableCollection<>(n -> new LinkedHashSet<>(), Collections::unmodifiableSet);

    private final IntFunction<C> fresh;
    private final Function<C, Collection<?>> seal;

    private ImmutableCollection(IntFunction<C> fresh, Function<C, Collection<?>> seal) {
      this.fresh = fresh;
      this.seal = seal;
      setImmutable(true);
    }

    @Override
    public void write(Kryo kryo, Output output, Collection<?> value) {
      output.writeVarInt(value.size(), true);
      for (Object e : value) {
        kryo.writeClassAndObject(output, e);
      }
    }

    @Override
    public Collection<?> read(Kryo kryo, Input input, Class<Collection<?>> type) {
      int n = input.readVarInt(true);
      C out = fresh.apply(n);
      for (int i = 0; i < n; i++) {
        out.add(kryo.readClassAndObject(input));
      }
      return seal.apply(out);
    }
  }

  /** Entries, then an unmodifiable map keeping their order. */
  static final class ImmutableMap extends Serializer<Map<?, ?>> {
    ImmutableMap() {
      setImmutable(true);
    }

    @Override
    public void write(Kryo kryo, Output output, Map<?, ?> value) {
      output.writeVarInt(value.size(), true);
      for (Map.Entry<?, ?> e : value.entrySet()) {
        kryo.writeClassAndObject(output, e.getKey());
        kryo.writeClassAndObject(output, e.getValue());
      }
    }

    @Override
    public Map<?, ?> read(Kryo kryo, Input input, Class<Map<?, ?>> type) {
      int n = input.readVarInt(true);
      Map<Object, Object> out = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        out.put(kryo.readClassAndObject(input), kryo.readClassAndObject(input));
      }
      return Collections.unmodifiableMap(out);
    }
  }
}
