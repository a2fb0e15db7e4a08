/**
 * A minimal serialized SentencePiece ModelProto (pieces with their types and
 * a trainer spec), for tests of tokenizer.model handling. Real Gemma/Llama
 * tokenizer.model files have the same wire layout, with 256k pieces.
 */
import protobuf from 'protobufjs/minimal.js';

/** Piece types of sentencepiece_model.proto: 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 6 BYTE. */
export function sentencePieceModel(pieces: [string, number][], modelType = 2): Uint8Array {
  const w = protobuf.Writer.create();
  for (const [piece, type] of pieces) {
    w.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).string(piece).uint32((2 << 3) | 5).float(0).uint32(3 << 3).int32(type).ldelim();
  }
  w.uint32((2 << 3) | 2).fork().uint32(3 << 3).int32(modelType).ldelim();
  return w.finish();
}

/** Gemma-style special pieces followed by a few ordinary ones. */
export const GEMMA_LIKE_PIECES: [string, number][] = [
  ['<pad>', 3],
  ['<eos>', 3],
  ['<bos>', 3],
  ['<unk>', 2],
  ['<start_of_turn>', 4],
  ['<end_of_turn>', 4],
  ['▁hello', 1],
  ['▁world', 1],
];
