/*
 * An Avro oracle for the tests: Apache Avro's Java library (the one Confluent's serializers build on),
 * driven by JSON lines. Run with the single-file source launcher, no build step:
 *
 *   java -cp "<oracle lib dir>/*" tests/oracle/AvroOracle.java
 *
 * One JSON request per line on stdin, one JSON response per line on stdout (flushed after each; pure
 * ASCII, anything else escaped). Any exception gives {"ok": false, "error": "<SimpleName>: <message>"} and
 * the loop goes on. Requests:
 *
 *   {"op": "encode", "schema": S, "references": [R...], "datum": D}
 *       -> {"ok": true, "bytes": "<base64 of the Avro binary>"}
 *   {"op": "decode", "writer": S, "writer_references": [R...], "reader": S, "reader_references": [R...],
 *    "bytes": "<base64>"}            ("reader" may be omitted: the writer schema then reads)
 *       -> {"ok": true, "datum": D (shaped by the reader schema), "trailing": <unread bytes>}
 *   {"op": "parse", "schema": S, "references": [R...]}
 *       -> {"ok": true, "canonical": "<Parsing Canonical Form>", "fingerprint": "<signed 64-bit, decimal>"}
 *   {"op": "compatible", "reader": S, "reader_references": [R...], "writer": S, "writer_references": [R...]}
 *       -> {"ok": true, "compatible": bool, "incompatibilities": [{"type", "location", "message"}...]}
 *
 * S and R are schema texts. The references are named types the schema refers to by name, in dependency
 * order; they are parsed first by the same Schema.Parser (default validation of names and defaults), then
 * the schema. A writer and a reader are parsed by separate parsers.
 *
 * Encoding is GenericDatumWriter + a direct BinaryEncoder; decoding is GenericDatumReader(writer, reader)
 * (Avro's schema resolution) over a BinaryDecoder on the byte array, as Confluent's serdes do. Both use a
 * GenericData with every logical-type conversion Avro 1.12 ships.
 *
 * The datum JSON D ("oracle JSON") is directed by the schema node at each position, the same both ways:
 *
 *   null                 null
 *   boolean              true / false
 *   int, long            a JSON integer (in range)
 *   float                {"float_bits": <unsigned 32-bit integer, Float.floatToRawIntBits>}
 *   double               {"double_bits": "<unsigned 64-bit integer as a decimal string, doubleToRawLongBits>"}
 *   string               a JSON string
 *   bytes, fixed         {"base64": "..."} (a fixed must have exactly its size)
 *   enum                 the symbol, a JSON string
 *   array                a JSON array
 *   map                  a JSON object
 *   record               a JSON object with every field by name, and no other key
 *   union                {"branch": <0-based index in that union>, "value": <that branch's JSON>}. On
 *                        encode the Java value is built so that GenericData.resolveUnion picks that branch
 *                        (an error if it cannot); on decode it is GenericData.resolveUnion(reader union,
 *                        the decoded value).
 *
 * A schema node with a logical type Avro Java recognises (invalid ones, e.g. a decimal whose precision does
 * not fit its fixed, are ignored by Avro and so use the underlying form):
 *
 *   decimal, big-decimal             {"unscaled": "<BigInteger, decimal string>", "scale": <int>}
 *                                    (BigDecimal; the conversion rescales/validates on encode)
 *   uuid (string, fixed 16)          the UUID's canonical string
 *   date                             {"epoch_day": <long>}                          (LocalDate)
 *   time-millis, time-micros         {"nano_of_day": <long>}                        (LocalTime)
 *   timestamp-millis/-micros/-nanos  {"epoch_second": <long>, "nano": <int>}        (Instant)
 *   local-timestamp-millis/-micros/-nanos
 *                                    {"local_epoch_second": <long>, "nano": <int>}  (LocalDateTime at UTC)
 *   duration (fixed 12)              {"months": <long>, "days": <long>, "millis": <long>}  (TimePeriod)
 */

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.avro.Conversions;
import org.apache.avro.LogicalType;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.util.TimePeriod;

public class AvroOracle {
  // Generated payloads may be large or deep: the oracle must not refuse what Avro would take. Output is
  // pure ASCII, so a lone UTF-16 surrogate travels as an escape.
  private static final ObjectMapper JSON =
      new ObjectMapper(
          JsonFactory.builder()
              .streamReadConstraints(
                  StreamReadConstraints.builder()
                      .maxStringLength(Integer.MAX_VALUE)
                      .maxNestingDepth(100_000)
                      .maxNumberLength(100_000)
                      .build())
              .streamWriteConstraints(StreamWriteConstraints.builder().maxNestingDepth(100_000).build())
              .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
              .build());
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final GenericData DATA = dataWithConversions();

  static GenericData dataWithConversions() {
    GenericData data = new GenericData();
    data.addLogicalTypeConversion(new Conversions.DecimalConversion());
    data.addLogicalTypeConversion(new Conversions.BigDecimalConversion());
    data.addLogicalTypeConversion(new Conversions.UUIDConversion());
    data.addLogicalTypeConversion(new Conversions.DurationConversion());
    data.addLogicalTypeConversion(new TimeConversions.DateConversion());
    data.addLogicalTypeConversion(new TimeConversions.TimeMillisConversion());
    data.addLogicalTypeConversion(new TimeConversions.TimeMicrosConversion());
    data.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
    data.addLogicalTypeConversion(new TimeConversions.TimestampMicrosConversion());
    data.addLogicalTypeConversion(new TimeConversions.TimestampNanosConversion());
    data.addLogicalTypeConversion(new TimeConversions.LocalTimestampMillisConversion());
    data.addLogicalTypeConversion(new TimeConversions.LocalTimestampMicrosConversion());
    data.addLogicalTypeConversion(new TimeConversions.LocalTimestampNanosConversion());
    return data;
  }

  /** A malformed request or a datum that does not match its schema node. */
  static final class OracleException extends RuntimeException {
    OracleException(String message) {
      super(message);
    }
  }

  public static void main(String[] args) throws Exception {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
    BufferedWriter out =
        new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      ObjectNode response;
      try {
        response = handle(JSON.readTree(line));
      } catch (Exception | StackOverflowError e) {
        response = NODES.objectNode();
        response.put("ok", false);
        response.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
      }
      out.write(JSON.writeValueAsString(response));
      out.write('\n');
      out.flush();
    }
  }

  static ObjectNode handle(JsonNode request) throws Exception {
    if (request == null || !request.isObject()) {
      throw new OracleException("a request must be a JSON object");
    }
    String op = text(request, "op");
    ObjectNode response = NODES.objectNode();
    response.put("ok", true);
    switch (op) {
      case "encode": {
        Schema schema = parse(text(request, "schema"), request.get("references"));
        Object datum = toJava(schema, required(request, "datum"), "$");
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(buffer, null);
        new GenericDatumWriter<Object>(schema, DATA).write(datum, encoder);
        encoder.flush();
        response.put("bytes", Base64.getEncoder().encodeToString(buffer.toByteArray()));
        return response;
      }
      case "decode": {
        Schema writer = parse(text(request, "writer"), request.get("writer_references"));
        JsonNode readerText = request.get("reader");
        Schema reader =
            readerText == null || readerText.isNull()
                ? writer
                : parse(text(request, "reader"), request.get("reader_references"));
        byte[] bytes = Base64.getDecoder().decode(text(request, "bytes"));
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes, 0, bytes.length, null);
        Object datum = new GenericDatumReader<Object>(writer, reader, DATA).read(null, decoder);
        response.set("datum", fromJava(reader, datum, "$"));
        response.put("trailing", decoder.inputStream().available());
        return response;
      }
      case "parse": {
        Schema schema = parse(text(request, "schema"), request.get("references"));
        response.put("canonical", SchemaNormalization.toParsingForm(schema));
        response.put("fingerprint", Long.toString(SchemaNormalization.parsingFingerprint64(schema)));
        return response;
      }
      case "compatible": {
        Schema reader = parse(text(request, "reader"), request.get("reader_references"));
        Schema writer = parse(text(request, "writer"), request.get("writer_references"));
        SchemaCompatibility.SchemaCompatibilityResult result =
            SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getResult();
        response.put(
            "compatible",
            result.getCompatibility() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
        ArrayNode found = response.putArray("incompatibilities");
        for (SchemaCompatibility.Incompatibility incompatibility : result.getIncompatibilities()) {
          ObjectNode entry = found.addObject();
          entry.put("type", incompatibility.getType().name());
          entry.put("location", incompatibility.getLocation());
          entry.put("message", incompatibility.getMessage());
        }
        return response;
      }
      default:
        throw new OracleException("unknown op " + op);
    }
  }

  static Schema parse(String text, JsonNode references) {
    Schema.Parser parser = new Schema.Parser();
    if (references != null && !references.isNull()) {
      if (!references.isArray()) {
        throw new OracleException("references must be a list of schema texts");
      }
      for (JsonNode reference : references) {
        if (!reference.isTextual()) {
          throw new OracleException("references must be a list of schema texts");
        }
        parser.parse(reference.textValue());
      }
    }
    return parser.parse(text);
  }

  // -- oracle JSON -> Java values (encode) ----------------------------------------------------------

  static Object toJava(Schema schema, JsonNode node, String path) {
    LogicalType logical = schema.getLogicalType();
    if (logical != null && DATA.getConversionFor(logical) != null) {
      return logicalToJava(schema, logical.getName(), node, path);
    }
    switch (schema.getType()) {
      case NULL:
        if (!node.isNull()) {
          throw mismatch(path, schema, node);
        }
        return null;
      case BOOLEAN:
        if (!node.isBoolean()) {
          throw mismatch(path, schema, node);
        }
        return node.booleanValue();
      case INT:
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
          throw mismatch(path, schema, node);
        }
        return node.intValue();
      case LONG:
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
          throw mismatch(path, schema, node);
        }
        return node.longValue();
      case FLOAT:
        {
          long bits = unsignedField(node, "float_bits", 32, path);
          return Float.intBitsToFloat((int) bits);
        }
      case DOUBLE:
        {
          String bits = stringField(node, "double_bits", path);
          try {
            return Double.longBitsToDouble(Long.parseUnsignedLong(bits));
          } catch (NumberFormatException e) {
            throw new OracleException(path + ": double_bits must be an unsigned 64-bit integer, got " + bits);
          }
        }
      case STRING:
        if (!node.isTextual()) {
          throw mismatch(path, schema, node);
        }
        return node.textValue();
      case BYTES:
        return ByteBuffer.wrap(base64Field(node, path));
      case FIXED:
        {
          byte[] bytes = base64Field(node, path);
          if (bytes.length != schema.getFixedSize()) {
            throw new OracleException(
                path + ": fixed " + schema.getFullName() + " has size " + schema.getFixedSize()
                    + ", got " + bytes.length + " bytes");
          }
          return new GenericData.Fixed(schema, bytes);
        }
      case ENUM:
        if (!node.isTextual()) {
          throw mismatch(path, schema, node);
        }
        return new GenericData.EnumSymbol(schema, node.textValue());
      case ARRAY:
        {
          if (!node.isArray()) {
            throw mismatch(path, schema, node);
          }
          GenericData.Array<Object> array = new GenericData.Array<>(node.size(), schema);
          int index = 0;
          for (JsonNode item : node) {
            array.add(toJava(schema.getElementType(), item, path + "[" + index++ + "]"));
          }
          return array;
        }
      case MAP:
        {
          if (!node.isObject()) {
            throw mismatch(path, schema, node);
          }
          Map<String, Object> map = new LinkedHashMap<>();
          for (Map.Entry<String, JsonNode> entry : node.properties()) {
            map.put(
                entry.getKey(),
                toJava(schema.getValueType(), entry.getValue(), path + "[" + quote(entry.getKey()) + "]"));
          }
          return map;
        }
      case RECORD:
        {
          if (!node.isObject()) {
            throw mismatch(path, schema, node);
          }
          GenericData.Record record = new GenericData.Record(schema);
          Set<String> names = new HashSet<>();
          for (Schema.Field field : schema.getFields()) {
            names.add(field.name());
            JsonNode value = node.get(field.name());
            if (value == null) {
              throw new OracleException(
                  path + ": record " + schema.getFullName() + " needs field " + field.name());
            }
            record.put(field.pos(), toJava(field.schema(), value, path + "." + field.name()));
          }
          Iterator<String> keys = node.fieldNames();
          while (keys.hasNext()) {
            String key = keys.next();
            if (!names.contains(key)) {
              throw new OracleException(
                  path + ": record " + schema.getFullName() + " has no field " + key);
            }
          }
          return record;
        }
      case UNION:
        {
          if (!node.isObject() || node.size() != 2 || !node.has("branch") || !node.has("value")) {
            throw new OracleException(path + ": a union takes {\"branch\": i, \"value\": v}, got " + node);
          }
          JsonNode branchNode = node.get("branch");
          List<Schema> branches = schema.getTypes();
          if (!branchNode.isIntegralNumber()
              || !branchNode.canConvertToInt()
              || branchNode.intValue() < 0
              || branchNode.intValue() >= branches.size()) {
            throw new OracleException(
                path + ": branch must be an index below " + branches.size() + ", got " + branchNode);
          }
          int branch = branchNode.intValue();
          Object value = toJava(branches.get(branch), node.get("value"), path + "<" + branch + ">");
          int resolved = DATA.resolveUnion(schema, value);
          if (resolved != branch) {
            throw new OracleException(
                path + ": Avro Java cannot write branch " + branch + " (" + describe(branches.get(branch))
                    + ") of " + schema + ": its value resolves to branch " + resolved);
          }
          return value;
        }
      default:
        throw new OracleException(path + ": unsupported schema type " + schema.getType());
    }
  }

  static Object logicalToJava(Schema schema, String name, JsonNode node, String path) {
    switch (name) {
      case "decimal":
      case "big-decimal":
        {
          String unscaled = stringField(node, "unscaled", path);
          int scale = intField(node, "scale", path);
          return new BigDecimal(new BigInteger(unscaled), scale);
        }
      case "uuid":
        if (!node.isTextual()) {
          throw mismatch(path, schema, node);
        }
        return UUID.fromString(node.textValue());
      case "date":
        return LocalDate.ofEpochDay(longField(node, "epoch_day", path));
      case "time-millis":
      case "time-micros":
        return LocalTime.ofNanoOfDay(longField(node, "nano_of_day", path));
      case "timestamp-millis":
      case "timestamp-micros":
      case "timestamp-nanos":
        return Instant.ofEpochSecond(longField(node, "epoch_second", path), intField(node, "nano", path));
      case "local-timestamp-millis":
      case "local-timestamp-micros":
      case "local-timestamp-nanos":
        return LocalDateTime.ofEpochSecond(
            longField(node, "local_epoch_second", path), intField(node, "nano", path), ZoneOffset.UTC);
      case "duration":
        return TimePeriod.of(
            longField(node, "months", path), longField(node, "days", path), longField(node, "millis", path));
      default:
        throw new OracleException(path + ": no oracle JSON for logical type " + name);
    }
  }

  // -- Java values -> oracle JSON (decode) ----------------------------------------------------------

  static JsonNode fromJava(Schema schema, Object value, String path) {
    LogicalType logical = schema.getLogicalType();
    if (logical != null && DATA.getConversionFor(logical) != null) {
      return logicalFromJava(logical.getName(), value, path);
    }
    switch (schema.getType()) {
      case NULL:
        return NODES.nullNode();
      case BOOLEAN:
        return NODES.booleanNode((Boolean) value);
      case INT:
        return NODES.numberNode((Integer) value);
      case LONG:
        return NODES.numberNode((Long) value);
      case FLOAT:
        {
          ObjectNode node = NODES.objectNode();
          node.put("float_bits", Integer.toUnsignedLong(Float.floatToRawIntBits((Float) value)));
          return node;
        }
      case DOUBLE:
        {
          ObjectNode node = NODES.objectNode();
          node.put("double_bits", Long.toUnsignedString(Double.doubleToRawLongBits((Double) value)));
          return node;
        }
      case STRING:
        return NODES.textNode(value.toString());
      case BYTES:
        {
          ByteBuffer buffer = ((ByteBuffer) value).duplicate();
          byte[] bytes = new byte[buffer.remaining()];
          buffer.get(bytes);
          return base64Node(bytes);
        }
      case FIXED:
        return base64Node(((GenericFixed) value).bytes());
      case ENUM:
        return NODES.textNode(((GenericEnumSymbol<?>) value).toString());
      case ARRAY:
        {
          ArrayNode array = NODES.arrayNode();
          int index = 0;
          for (Object item : (Collection<?>) value) {
            array.add(fromJava(schema.getElementType(), item, path + "[" + index++ + "]"));
          }
          return array;
        }
      case MAP:
        {
          ObjectNode map = NODES.objectNode();
          for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
            String key = entry.getKey().toString();
            map.set(key, fromJava(schema.getValueType(), entry.getValue(), path + "[" + quote(key) + "]"));
          }
          return map;
        }
      case RECORD:
        {
          ObjectNode record = NODES.objectNode();
          IndexedRecord indexed = (IndexedRecord) value;
          for (Schema.Field field : schema.getFields()) {
            record.set(
                field.name(), fromJava(field.schema(), indexed.get(field.pos()), path + "." + field.name()));
          }
          return record;
        }
      case UNION:
        {
          int branch = DATA.resolveUnion(schema, value);
          ObjectNode union = NODES.objectNode();
          union.put("branch", branch);
          union.set("value", fromJava(schema.getTypes().get(branch), value, path + "<" + branch + ">"));
          return union;
        }
      default:
        throw new OracleException(path + ": unsupported schema type " + schema.getType());
    }
  }

  static JsonNode logicalFromJava(String name, Object value, String path) {
    ObjectNode node = NODES.objectNode();
    switch (name) {
      case "decimal":
      case "big-decimal":
        {
          BigDecimal decimal = (BigDecimal) value;
          node.put("unscaled", decimal.unscaledValue().toString());
          node.put("scale", decimal.scale());
          return node;
        }
      case "uuid":
        return NODES.textNode(((UUID) value).toString());
      case "date":
        node.put("epoch_day", ((LocalDate) value).toEpochDay());
        return node;
      case "time-millis":
      case "time-micros":
        node.put("nano_of_day", ((LocalTime) value).toNanoOfDay());
        return node;
      case "timestamp-millis":
      case "timestamp-micros":
      case "timestamp-nanos":
        {
          Instant instant = (Instant) value;
          node.put("epoch_second", instant.getEpochSecond());
          node.put("nano", instant.getNano());
          return node;
        }
      case "local-timestamp-millis":
      case "local-timestamp-micros":
      case "local-timestamp-nanos":
        {
          LocalDateTime local = (LocalDateTime) value;
          node.put("local_epoch_second", local.toEpochSecond(ZoneOffset.UTC));
          node.put("nano", local.getNano());
          return node;
        }
      case "duration":
        {
          TimePeriod period = (TimePeriod) value;
          node.put("months", period.getMonths());
          node.put("days", period.getDays());
          node.put("millis", period.getMillis());
          return node;
        }
      default:
        throw new OracleException(path + ": no oracle JSON for logical type " + name);
    }
  }

  // -- helpers ---------------------------------------------------------------------------------------

  static JsonNode required(JsonNode node, String key) {
    JsonNode value = node.get(key);
    if (value == null) {
      throw new OracleException("the request needs \"" + key + "\"");
    }
    return value;
  }

  static String text(JsonNode node, String key) {
    JsonNode value = required(node, key);
    if (!value.isTextual()) {
      throw new OracleException("\"" + key + "\" must be a string");
    }
    return value.textValue();
  }

  static JsonNode field(JsonNode node, String key, String path) {
    if (!node.isObject() || !node.has(key)) {
      throw new OracleException(path + ": expected an object with \"" + key + "\", got " + node);
    }
    return node.get(key);
  }

  static long unsignedField(JsonNode node, String key, int bits, String path) {
    JsonNode value = field(node, key, path);
    if (!value.isIntegralNumber()
        || value.bigIntegerValue().signum() < 0
        || value.bigIntegerValue().bitLength() > bits) {
      throw new OracleException(path + ": " + key + " must be an unsigned " + bits + "-bit integer, got " + value);
    }
    return value.longValue();
  }

  static long longField(JsonNode node, String key, String path) {
    JsonNode value = field(node, key, path);
    if (!value.isIntegralNumber() || !value.canConvertToLong()) {
      throw new OracleException(path + ": " + key + " must be a 64-bit integer, got " + value);
    }
    return value.longValue();
  }

  static int intField(JsonNode node, String key, String path) {
    JsonNode value = field(node, key, path);
    if (!value.isIntegralNumber() || !value.canConvertToInt()) {
      throw new OracleException(path + ": " + key + " must be a 32-bit integer, got " + value);
    }
    return value.intValue();
  }

  static String stringField(JsonNode node, String key, String path) {
    JsonNode value = field(node, key, path);
    if (!value.isTextual()) {
      throw new OracleException(path + ": " + key + " must be a string, got " + value);
    }
    return value.textValue();
  }

  static byte[] base64Field(JsonNode node, String path) {
    String text = stringField(node, "base64", path);
    try {
      return Base64.getDecoder().decode(text);
    } catch (IllegalArgumentException e) {
      throw new OracleException(path + ": invalid base64: " + e.getMessage());
    }
  }

  static JsonNode base64Node(byte[] bytes) {
    ObjectNode node = NODES.objectNode();
    node.put("base64", Base64.getEncoder().encodeToString(bytes));
    return node;
  }

  static OracleException mismatch(String path, Schema schema, JsonNode node) {
    String shown = node.toString();
    if (shown.length() > 80) {
      shown = shown.substring(0, 77) + "...";
    }
    return new OracleException(path + ": " + describe(schema) + " cannot take " + shown);
  }

  static String describe(Schema schema) {
    String kind = schema.getType().getName();
    if (schema.getLogicalType() != null) {
      kind += " (" + schema.getLogicalType().getName() + ")";
    }
    switch (schema.getType()) {
      case RECORD:
      case ENUM:
      case FIXED:
        return kind + " " + schema.getFullName();
      default:
        return kind;
    }
  }

  static String quote(String key) {
    return NODES.textNode(key).toString();
  }
}
