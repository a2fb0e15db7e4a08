"""The Python emitter writes exactly the shapes of main/common/stageProtocol.ts."""
import io
import json
import sys
import unittest

from tests.helpers import captured, events
from protocol import Emitter, StageFailure, read_params, redirect_foreign_stdout, run_stage


class ProtocolTest(unittest.TestCase):

  def test_each_event_shape(self):
    emitter, stream = captured()
    emitter.progress(1.7, "lower", "m")
    emitter.progress(None)
    emitter.log("loud", "text")
    emitter.metric("peak", 3, "B")
    emitter.artifact("tflite", "/x/y.tflite")
    emitter.result({"a": 1})
    emitter.error("code", "message", "hint")
    got = events(stream)
    self.assertEqual(got[0], {"type": "progress", "fraction": 1.0, "phase": "lower", "message": "m"})
    self.assertEqual(got[1], {"type": "progress", "fraction": None})
    self.assertEqual(got[2], {"type": "log", "level": "info", "text": "text"})
    self.assertEqual(got[3], {"type": "metric", "name": "peak", "value": 3.0, "unit": "B"})
    self.assertEqual(got[4], {"type": "artifact", "kind": "tflite", "path": "/x/y.tflite"})
    self.assertEqual(got[5], {"type": "result", "data": {"a": 1}})
    self.assertEqual(got[6], {"type": "error", "code": "code", "message": "message", "hint": "hint"})

  def test_limits_are_respected(self):
    emitter, stream = captured()
    emitter.progress(0.5, "p" * 500, "m" * 5000)
    event = events(stream)[0]
    self.assertEqual(len(event["phase"]), 200)
    self.assertEqual(len(event["message"]), 2000)

  def test_failure_becomes_one_error_event(self):
    emitter, stream = captured()

    def body():
      raise StageFailure("bad_thing", "It went wrong.", "Do this.")

    self.assertEqual(run_stage(body, emitter), 1)
    self.assertEqual(events(stream), [{"type": "error", "code": "bad_thing", "message": "It went wrong.", "hint": "Do this."}])

  def test_unexpected_exception_has_a_sentence_and_the_traceback_as_debug(self):
    emitter, stream = captured()

    def body():
      raise KeyError("boom")

    self.assertEqual(run_stage(body, emitter), 1)
    got = events(stream)
    self.assertEqual(got[0]["type"], "error")
    self.assertEqual(got[0]["code"], "internal")
    self.assertIn("KeyError", got[0]["message"])
    self.assertEqual(got[1]["level"], "debug")
    self.assertIn("Traceback", got[1]["text"])

  def test_translator_is_used(self):
    emitter, stream = captured()

    def body():
      raise MemoryError()

    run_stage(body, emitter, lambda exc: StageFailure("out_of_memory", "Out of memory.") if isinstance(exc, MemoryError) else None)
    self.assertEqual(events(stream)[0]["code"], "out_of_memory")

  def test_foreign_stdout_becomes_log_lines(self):
    stream = io.StringIO()
    emitter = Emitter(stream)
    with redirect_foreign_stdout(emitter):
      print("hello from a library")
      sys.stdout.write("progress 10%\rprogress 20%\n")
      sys.stdout.write("no newline")
    texts = [e["text"] for e in events(stream)]
    self.assertEqual(texts, ["hello from a library", "progress 10%", "progress 20%", "no newline"])

  def test_read_params(self):
    import tempfile, os
    with self.assertRaises(StageFailure) as ctx:
      read_params([])
    self.assertEqual(ctx.exception.code, "bad_params")
    with tempfile.TemporaryDirectory() as tmp:
      path = os.path.join(tmp, "p.json")
      with open(path, "w") as handle:
        handle.write("[1]")
      with self.assertRaises(StageFailure):
        read_params(["--params", path])
      with open(path, "w") as handle:
        json.dump({"a": 1}, handle)
      self.assertEqual(read_params(["--params", path]), {"a": 1})


if __name__ == "__main__":
  unittest.main()
