"""The LMS download is unpacked within budgets: `nbgrader zip_collect`'s extractor for this course.

nbgrader's own extractor unpacks every archive, and every archive inside one, with no limit: a student's upload of
1 MB holding 1 GiB of zeros becomes 1 GiB on the TA's disk, a zip of zips goes further, and one member whose path
leaves the folder stops the whole class with a traceback. BudgetedExtractor (nbgrader_config.py:
ZipCollectApp.extractor_plugin) reads each archive member by member and writes only what fits:

- budgets (traits with help text): bytes of one file, bytes of the whole download, number of files, nesting depth
  (the download's archives are depth 1, a student's archive inside one is depth 2); bytes are counted as they are
  written, so an archive whose headers lie about sizes stops at the budget too;
- never written: a member whose path would land outside its folder (`..`), an absolute path, a symbolic or hard
  link (and devices, fifos) in a tar, a name that is not valid UTF-8;
- an archive deeper than the depth budget is not unpacked (it is not a notebook), one that cannot be read is
  skipped; either way the rest of the class is unpacked.

Every member skipped is in `skipped` ((where, reason)); the collector (grading/lms.py) lists them in
collect_report.md and on the console, with the files it did not collect.
"""
import gzip
import os
import re
import tarfile
import zipfile
import zlib

from nbgrader.plugins import ExtractorPlugin
from traitlets import Float, Int

CHUNK = 1 << 20
READ_ERRORS = (zipfile.BadZipFile, tarfile.TarError, zlib.error, OSError, EOFError, ValueError, RuntimeError,
               NotImplementedError)  # what a damaged or unusual archive raises while it is read
ARCHIVE = re.compile(r"\.(zip|tar|tgz|tar\.gz|gz)$", re.IGNORECASE)
ZIP_UTF8 = 0x800  # the zip flag bit that says a member's name is UTF-8 (otherwise zipfile decodes it as cp437)


class Skip(Exception):
    """A member that is not written, with the reason."""


class BudgetedExtractor(ExtractorPlugin):
    """nbgrader's extractor, within budgets: what does not fit, or would land outside the folder, is skipped and
    listed with its reason (self.skipped); one bad member or archive never stops the others."""

    max_file_mb = Float(100.0, help="MiB one unpacked file may have; a larger member of an archive is skipped "
                                    "(not written), an archive that lies about it stops at this size.").tag(config=True)
    max_total_mb = Float(2048.0, help="MiB zip_collect may write in all when it unpacks the download; once spent, "
                                      "every member after it is skipped.").tag(config=True)
    max_files = Int(10000, help="Files zip_collect may write in all when it unpacks the download.").tag(config=True)
    max_depth = Int(2, help="How deep archives inside archives are unpacked: 1, the download's archives only; 2, "
                            "also a student's archive inside one; a deeper archive is skipped (not a "
                            "notebook).").tag(config=True)

    def extract(self, archive_path, extracted_path):
        self.skipped, self.written_bytes, self.written_files = [], 0, 0
        if not os.listdir(archive_path):
            self.log.warning("No files found in directory: %s", archive_path)
            return
        for root, _, names in os.walk(archive_path):
            dest = os.path.normpath(os.path.join(extracted_path, os.path.relpath(root, archive_path)))
            os.makedirs(dest, exist_ok=True)
            for name in sorted(names):
                path, where = os.path.join(root, name), os.path.relpath(os.path.join(root, name), archive_path)
                try:
                    if ARCHIVE.search(name):
                        self.log.info("Extracting from: %s", path)
                        with open(path, "rb") as f:
                            self._unpack(f, name, os.path.join(dest, ARCHIVE.sub("", name)), where, depth=1)
                    else:
                        with open(path, "rb") as f:
                            self._write(f, os.path.join(dest, name), where, os.path.getsize(path))
                except Skip as why:
                    self._skip(where, str(why))
                except Exception as err:  # anything else: this archive is listed, the class goes on, the log says why
                    self.log.exception("zip_collect's extractor failed on %s", where)
                    self._skip(where, f"not unpacked: the extractor failed on it ({type(err).__name__}: {err}); "
                                      "unpack it by hand and tell the course's maintainers (grading/zip_budget.py)")
        self.log.info("Unpacked %d files, %.1f MiB (budgets: %d files, %g MiB)", self.written_files,
                      self.written_bytes / 2**20, self.max_files, self.max_total_mb)

    # ------------------------------------------------------------------ one archive, member by member
    def _unpack(self, f, name, dest, where, depth):
        """Unpack the archive in file object `f` (named `name`) into the folder `dest`."""
        if depth > self.max_depth:
            raise Skip(f"an archive inside an archive, deeper than ZipCollectApp's extractor allows "
                       f"(BudgetedExtractor.max_depth = {self.max_depth}): not unpacked, not a notebook")
        try:
            if zipfile.is_zipfile(f):
                f.seek(0)
                with zipfile.ZipFile(f) as z:
                    members = [(self._zip_name(info), info.is_dir(), info.file_size, lambda i=info: z.open(i))
                               for info in z.infolist()]
                    self._members(members, dest, where, depth)
                return
            f.seek(0)
            try:
                tar = tarfile.open(fileobj=f, mode="r:*")
            except tarfile.TarError:
                tar = None
            if tar is not None:
                with tar:
                    members = [(self._tar_name(m), m.isdir(), m.size, lambda m=m: tar.extractfile(m))
                               for m in tar.getmembers()]
                    self._members(members, dest, where, depth)
                return
            f.seek(0)
            if name.lower().endswith(".gz"):
                self._write(gzip.GzipFile(fileobj=f), dest, where, None)
                return
        except READ_ERRORS as err:
            raise Skip(f"the archive cannot be read ({type(err).__name__}: {err})") from None
        raise Skip("not an archive that can be read (zip, tar, gzip)")

    def _members(self, members, dest, where, depth):
        for name, is_dir, size, opener in members:
            label = f"{where}:{name if isinstance(name, str) else name[1]}"
            try:
                if not isinstance(name, str):  # (reason, printable name)
                    raise Skip(name[0])
                target = self._inside(dest, name)
                if is_dir:
                    os.makedirs(target, exist_ok=True)
                    continue
                if opener is None:
                    raise Skip("not a regular file")
                if ARCHIVE.search(name):
                    with opener() as inner:
                        self._unpack(inner, os.path.basename(name), ARCHIVE.sub("", target), label, depth + 1)
                else:
                    with opener() as src:
                        self._write(src, target, label, size)
            except Skip as why:
                self._skip(label, str(why))
            except READ_ERRORS as err:  # an encrypted or damaged member: the others go on
                self._skip(label, f"it cannot be unpacked ({type(err).__name__}: {err})")

    @staticmethod
    def _zip_name(info):
        name = info.filename
        if not info.flag_bits & ZIP_UTF8:
            try:  # not marked UTF-8: zipfile read the bytes as cp437; as UTF-8 they must decode
                raw = name.encode("cp437")
                name = raw.decode("utf-8")
            except UnicodeEncodeError:
                pass
            except UnicodeDecodeError:
                return ("its name is not valid UTF-8", repr(raw)[2:-1])
        return name

    @staticmethod
    def _tar_name(member):
        try:
            member.name.encode("utf-8")
        except UnicodeEncodeError:  # tarfile keeps the bytes that are not UTF-8 as surrogates
            return ("its name is not valid UTF-8", member.name.encode("utf-8", "surrogateescape").decode("ascii",
                                                                                                       "backslashreplace"))
        if member.issym() or member.islnk():
            return (f"a {'symbolic' if member.issym() else 'hard'} link (to {member.linkname}): links are not "
                    "unpacked", member.name)
        if not (member.isfile() or member.isdir()):
            return ("not a regular file or folder (a device or a fifo)", member.name)
        return member.name

    @staticmethod
    def _inside(dest, name):
        """Where member `name` goes in `dest`; a path that would leave it is skipped."""
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
            raise Skip("an absolute path: it would land outside the folder")
        parts = [p for p in re.split(r"[/\\]", name) if p not in ("", ".")]
        if ".." in parts or not parts:
            raise Skip("its path would land outside the folder (..)")
        target = os.path.join(dest, *parts)
        if os.path.commonpath([os.path.realpath(target), os.path.realpath(dest)]) != os.path.realpath(dest):
            raise Skip("its path would land outside the folder")
        return target

    # ------------------------------------------------------------------ the budgets
    def _write(self, src, target, where, size):
        """Copy file object `src` to `target` within the budgets; a file that outgrows them is removed."""
        file_budget = int(self.max_file_mb * 2**20)
        left = int(self.max_total_mb * 2**20) - self.written_bytes
        if self.written_files >= self.max_files:
            raise Skip(f"the download has more files than BudgetedExtractor.max_files = {self.max_files}")
        if size is not None and size > file_budget:
            raise Skip(f"{size / 2**20:.1f} MiB unpacked, more than BudgetedExtractor.max_file_mb = "
                       f"{self.max_file_mb:g}: not written")
        if size is not None and size > left:
            raise Skip(f"{size / 2**20:.1f} MiB unpacked, more than is left of BudgetedExtractor.max_total_mb = "
                       f"{self.max_total_mb:g}: not written")
        if os.path.exists(target) and not self.force:
            raise Skip(f"{os.path.basename(target)} is already there (another member of the same name)")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        written, limit = 0, min(file_budget, left)
        try:
            with open(target, "wb") as out:
                while chunk := src.read(min(CHUNK, limit - written + 1)):
                    written += len(chunk)
                    if written > limit:
                        raise Skip(f"it unpacks to more than {limit / 2**20:.1f} MiB (its header said "
                                   f"{(size or 0) / 2**20:.1f} MiB; BudgetedExtractor.max_file_mb = {self.max_file_mb:g}, "
                                   f"max_total_mb = {self.max_total_mb:g}): removed")
                    out.write(chunk)
        except Skip:
            os.remove(target)
            raise
        except READ_ERRORS as err:
            os.remove(target)
            raise Skip(f"it cannot be unpacked ({type(err).__name__}: {err})") from None
        self.written_bytes += written
        self.written_files += 1

    def _skip(self, where, reason):
        self.skipped.append((where, reason))
        self.log.warning("NOT EXTRACTED %s: %s", where, reason)
