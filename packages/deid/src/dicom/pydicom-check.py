"""An independent check of de-identified DICOM files, with pydicom (Debian's python3-pydicom).

Reads a JSON request on stdin: the UID key, the day offset, the pseudonyms, the PS3.15 Table
E.1-1 rows ([tag, basic action, modified-dates action]) and pairs of [source, de-identified] paths.
Walks each source dataset and the de-identified one side by side, at every level, and prints JSON:
per file, how many attributes it checked and every violation it found:
- an attribute with X (or a compound code whose choices are X, Z, D) present with a value that is
  neither empty nor the dummy, a Z attribute with a value;
- a UID (U) not equal to the keyed HMAC mapping of the source UID (2.25.<first 128 bits>), the file
  meta's instance UID not the dataset's;
- a date (DA, DT) not shifted by the offset;
- a private element, a curve or overlay group; a missing Patient Identity Removed YES;
- pixel data not byte-identical; a source's identifying text found anywhere in the output bytes.
"""

import datetime
import hashlib
import hmac
import json
import sys

import pydicom
from pydicom.sequence import Sequence

DUMMIES = {"ANONYMIZED", "19000101", "000000", "19000101000000", "000D", "0"}


def expected_uid(key, uid):
    digest = hmac.new(key.encode(), uid.encode("latin1"), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def shift_da(value, days):
    date = datetime.date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    return (date + datetime.timedelta(days=days)).strftime("%Y%m%d")


def text_of(element):
    value = element.value
    if value is None:
        return ""
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        return "\\".join(str(one) for one in value)
    if isinstance(value, bytes):
        return value.decode("latin1").rstrip("\0 ")
    return str(value).strip()


class Checker:
    def __init__(self, request):
        self.key = request["key"]
        self.days = request["shiftDays"]
        self.pseudonym = request["pseudonym"]
        self.rows = {int(tag): (basic, dates) for tag, basic, dates in request["profile"]}
        self.violations = []
        self.checked = 0

    def fail(self, path, message):
        self.violations.append(f"{path}: {message}")

    def walk(self, source, output, path):
        for element in output:
            tag = int(element.tag)
            group = tag >> 16
            where = f"{path}({group:04X},{tag & 0xFFFF:04X})"
            if group % 2 == 1:
                self.fail(where, "a private element is left")
            if (group & 0xFF01) in (0x5000, 0x6000):
                self.fail(where, "a curve or overlay element is left")
        for element in source:
            tag = int(element.tag)
            where = f"{path}({tag >> 16:04X},{tag & 0xFFFF:04X})"
            out = output.get(element.tag)
            if tag in (0x00100010, 0x00100020):
                expected = self.pseudonym["patientName" if tag == 0x00100010 else "patientId"]
                self.checked += 1
                if out is None or text_of(out) != expected:
                    self.fail(where, f"is {out and text_of(out)!r}, not the pseudonym")
                continue
            row = self.rows.get(tag)
            if row is not None:
                self.check_row(element, out, row, where)
            elif element.VR == "SQ" and out is not None and out.VR == "SQ":
                self.walk_items(element, out, where)
            elif element.VR == "DA" and out is not None:
                self.check_date(element, out, where)

    def walk_items(self, element, out, where):
        for index, (item, out_item) in enumerate(zip(element.value, out.value)):
            self.walk(item, out_item, f"{where}[{index}]")

    def check_date(self, element, out, where):
        self.checked += 1
        source = text_of(element)
        if source == "":
            return
        try:
            expected = "\\".join(shift_da(one.replace(".", ""), self.days) for one in source.split("\\"))
        except ValueError:
            if text_of(out) != "":
                self.fail(where, "an unreadable date is kept")
            return
        if text_of(out).replace(".", "") != expected:
            self.fail(where, f"date {text_of(out)!r} is not {source!r} shifted ({expected})")

    def check_row(self, element, out, row, where):
        basic, dates = row
        self.checked += 1
        if dates == "C":
            if out is None:
                return
            if element.VR == "DA":
                self.check_date(element, out, where)
            elif element.VR == "DT" and len(text_of(element)) >= 8:
                source = text_of(element)
                expected = shift_da(source[:8], self.days) + source[8:]
                if text_of(out) != expected:
                    self.fail(where, f"datetime {text_of(out)!r} is not {source!r} shifted")
            return
        if basic == "U":
            if out is None:
                return
            expected = "\\".join(expected_uid(self.key, one) for one in text_of(element).split("\\") if one)
            if text_of(out) != expected:
                self.fail(where, f"UID {text_of(out)!r} is not the keyed mapping {expected!r}")
            return
        if out is None:
            return
        if element.VR == "SQ" or out.VR == "SQ":
            if basic == "X":
                self.fail(where, "a sequence to remove is left")
            elif basic in ("D", "X/Z/U*") and isinstance(out.value, Sequence) and isinstance(element.value, Sequence):
                self.walk_items(element, out, where)
            elif len(out.value or []) > 0 and basic not in ("D", "X/Z/U*"):
                self.fail(where, "a sequence to empty has items")
            return
        if basic == "X":
            self.fail(where, f"is left ({text_of(out)!r})")
        elif basic in ("Z", "X/Z") and text_of(out) != "":
            self.fail(where, f"is {text_of(out)!r}, not empty")
        elif text_of(out) not in DUMMIES and text_of(out) != "":
            self.fail(where, f"is {text_of(out)!r}, neither empty nor a dummy")


def identifying_texts(dataset):
    texts = []
    for keyword in ("PatientName", "PatientID", "InstitutionName", "ReferringPhysicianName",
                    "OperatorsName", "AccessionNumber", "StudyID", "PatientBirthDate",
                    "InstitutionAddress", "StationName", "PerformingPhysicianName"):
        value = dataset.get(keyword)
        if value is not None:
            text = str(value).strip()
            if len(text) >= 4:
                texts.append(text)
    # The maker of the device is kept (not listed); an institution that shares its name is not news.
    kept = {str(dataset.get(keyword, "")).strip() for keyword in ("Manufacturer", "ManufacturerModelName")}
    texts = [text for text in texts if not any(text in one for one in kept)]
    for element in dataset.iterall():
        if element.VR == "UI" and int(element.tag) in (0x0020000D, 0x0020000E, 0x00080018):
            texts.append(str(element.value))
    return texts


def check_pair(checker, source_path, output_path):
    source = pydicom.dcmread(source_path, force=True)
    output = pydicom.dcmread(output_path)
    checker.walk(source, output, "")
    if output.get("PatientIdentityRemoved") != "YES":
        checker.fail("(0012,0062)", "Patient Identity Removed is not YES")
    if output.file_meta.get("MediaStorageSOPInstanceUID") != output.get("SOPInstanceUID"):
        checker.fail("(0002,0003)", "the meta group's instance UID is not the dataset's")
    if "PixelData" in source:
        checker.checked += 1
        if source.PixelData != output.PixelData:
            checker.fail("(7FE0,0010)", "pixel data changed")
    raw = open(output_path, "rb").read()
    for text in identifying_texts(source):
        if text.encode("latin1", "ignore") in raw:
            checker.fail("bytes", f"the source's {text!r} is in the output")


def main():
    request = json.load(sys.stdin)
    results = []
    for source_path, output_path in request["pairs"]:
        checker = Checker(request)
        check_pair(checker, source_path, output_path)
        results.append({"file": source_path, "checked": checker.checked, "violations": checker.violations})
    json.dump({"results": results}, sys.stdout)


main()
