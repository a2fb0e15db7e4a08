/**
 * Recognises a serialized SentencePiece `ModelProto` (tokenizer.model, or a
 * .litertlm SP_Tokenizer section) and summarises it: piece count, model type
 * and the control/user-defined pieces (<bos>, <eos>, <end_of_turn>, ...).
 * Decoded with protobufjs' wire reader directly: only three fields of
 * sentencepiece_model.proto are needed (ModelProto.pieces = 1 {piece = 1,
 * score = 2, type = 3}, ModelProto.trainer_spec = 2 {model_type = 3}).
 */
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs/minimal.js';
import { FormatErrorCode } from '../../common/formats.js';
import type { AddedToken, SentencePieceSummary } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';

const PIECE_TYPE_CONTROL = 3;
const PIECE_TYPE_USER_DEFINED = 4;
const MODEL_TYPES: Record<number, string> = { 1: 'UNIGRAM', 2: 'BPE', 3: 'WORD', 4: 'CHAR' };

/** Parses a SentencePiece model; throws corrupt_file when the bytes are not one. */
export function parseSentencePiece(bytes: Uint8Array, source: string): SentencePieceSummary {
  const fail = (why: string): WorkbenchError =>
    new WorkbenchError(FormatErrorCode.corrupt, `The SentencePiece tokenizer in ${source} is not a valid model (${why}).`, { source });
  const reader = protobuf.Reader.create(bytes);
  let pieceCount = 0;
  let modelType: string | null = null;
  const specialPieces: AddedToken[] = [];
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1 && wire === 2) {
        const end = reader.uint32() + reader.pos;
        if (end > reader.len) throw fail('a piece runs past the end');
        let piece = '';
        let type = 1;
        while (reader.pos < end) {
          const t = reader.uint32();
          if (t >>> 3 === 1 && (t & 7) === 2) piece = reader.string();
          else if (t >>> 3 === 3 && (t & 7) === 0) type = reader.int32();
          else reader.skipType(t & 7);
        }
        if (type === PIECE_TYPE_CONTROL || type === PIECE_TYPE_USER_DEFINED) {
          specialPieces.push({ id: pieceCount, content: piece, special: type === PIECE_TYPE_CONTROL });
        }
        pieceCount++;
      } else if (field === 2 && wire === 2) {
        const end = reader.uint32() + reader.pos;
        if (end > reader.len) throw fail('the trainer spec runs past the end');
        while (reader.pos < end) {
          const t = reader.uint32();
          if (t >>> 3 === 3 && (t & 7) === 0) modelType = MODEL_TYPES[reader.int32()] ?? null;
          else reader.skipType(t & 7);
        }
      } else if (field === 0 || wire === 6 || wire === 7) {
        throw fail(`invalid field tag ${tag}`);
      } else {
        reader.skipType(wire);
      }
    }
  } catch (error) {
    if (error instanceof WorkbenchError) throw error;
    throw fail((error as Error).message);
  }
  if (pieceCount === 0) throw fail('it holds no pieces');
  return {
    kind: 'sentencepiece',
    modelType,
    pieceCount,
    specialPieces,
    sizeBytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}
