/**
 * Builds the LiteRT-LM header flatbuffer (`LiteRTLMMetaData`, schema in
 * resources/schema/litertlm_header_schema.fbs) with the flatbuffers Builder.
 *
 * Only string values are written. Numeric VData members changed encoding
 * between writer generations (structs in 1.0/1.1, tables later), so a numeric
 * item is read correctly by only one runtime generation; strings are tables
 * in both and every LiteRT-LM runtime reads them.
 *
 * Defaults are forced so the header's size does not depend on the offsets it
 * holds: the writer sizes it with placeholders, writes the sections after it,
 * then builds it again with the real offsets (the same bytes count, asserted).
 */
import { Builder } from 'flatbuffers';
import type { Offset } from 'flatbuffers';
import { LITERTLM_FIELDS as F } from '../formats/litertlm.js';

/** VData tag of StringValue. */
const VDATA_STRING = 9;

export interface HeaderEntry {
  key: string;
  value: string;
}

export interface HeaderSection {
  dataType: number;
  items: HeaderEntry[];
  beginOffset: number;
  endOffset: number;
}

export function buildLitertlmHeader(systemMetadata: HeaderEntry[], sections: HeaderSection[]): Uint8Array {
  const b = new Builder(1024);
  b.forceDefaults(true);

  const pair = (entry: HeaderEntry): Offset => {
    const key = b.createString(entry.key);
    const text = b.createString(entry.value);
    b.startObject(1);
    b.addFieldOffset(F.StringValue.value, text, 0);
    const value = b.endObject();
    b.startObject(3);
    b.addFieldOffset(F.KeyValuePair.key, key, 0);
    b.addFieldInt8(F.KeyValuePair.value_type, VDATA_STRING, 0);
    b.addFieldOffset(F.KeyValuePair.value, value, 0);
    return b.endObject();
  };
  const vector = (offsets: Offset[]): Offset => {
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
    return b.endVector();
  };

  const entries = vector(systemMetadata.map(pair));
  b.startObject(1);
  b.addFieldOffset(F.SystemMetadata.entries, entries, 0);
  const system = b.endObject();

  const objects = sections.map((section) => {
    const items = vector(section.items.map(pair));
    b.startObject(4);
    b.addFieldOffset(F.SectionObject.items, items, 0);
    b.addFieldInt64(F.SectionObject.begin_offset, BigInt(section.beginOffset), 0n);
    b.addFieldInt64(F.SectionObject.end_offset, BigInt(section.endOffset), 0n);
    b.addFieldInt8(F.SectionObject.data_type, section.dataType, 0);
    return b.endObject();
  });
  const objectVector = vector(objects);
  b.startObject(1);
  b.addFieldOffset(F.SectionMetadata.objects, objectVector, 0);
  const sectionMetadata = b.endObject();

  b.startObject(2);
  b.addFieldOffset(F.LiteRTLMMetaData.system_metadata, system, 0);
  b.addFieldOffset(F.LiteRTLMMetaData.section_metadata, sectionMetadata, 0);
  b.finish(b.endObject());
  return b.asUint8Array().slice();
}
