"""Doctor: pins read from the requirement files, installed versions compared."""
import sys
import unittest

import tests.helpers  # noqa: F401  (puts python-env on sys.path)
import doctor


class DoctorTest(unittest.TestCase):

  def test_pins_follow_platform_markers(self):
    torch = [p for p in doctor.pins("example") if p["name"] == "torch"]
    self.assertEqual(len(torch), 1)
    self.assertEqual(torch[0]["pinned"], "2.9.0" if sys.platform == "darwin" else "2.9.0+cpu")

  def test_marker_forms(self):
    self.assertTrue(doctor.marker_applies(None))
    self.assertTrue(doctor.marker_applies(f'sys_platform == "{sys.platform}"'))
    self.assertFalse(doctor.marker_applies('sys_platform == "plan9"'))
    self.assertTrue(doctor.marker_applies('sys_platform == "plan9" or sys_platform == "%s"' % sys.platform))

  def test_versions_compare_without_local_tag(self):
    self.assertTrue(doctor.same_version("2.9.0+cpu", "2.9.0"))
    self.assertTrue(doctor.same_version("2.9.0", "2.9.0+cpu"))
    self.assertFalse(doctor.same_version("2.9.0", "2.9.1"))
    self.assertFalse(doctor.same_version("2.9.0", None))

  def test_report_shape(self):
    report = doctor.report()
    self.assertEqual(report["version"], "%d.%d.%d" % sys.version_info[:3])
    self.assertEqual(set(report["routes"]), {"example", "export_hf"})
    names = [row["name"] for row in report["routes"]["export_hf"]["packages"]]
    self.assertIn("litert-torch", names)
    self.assertIn("litert-lm-builder", names)


if __name__ == "__main__":
  unittest.main()
