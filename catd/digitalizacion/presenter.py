"""The digitalización screen's presenter: files in the hot folder become imagen records,
and the screen is told what happened to each.

The hot folder (:class:`prep.station.scan.hotfolder.HotFolder`) is polled on the ``db``
lane (a timer on the GUI thread only *asks* for the next poll once the previous one
came back), so image checks and store writes never run on the GUI thread and are
serialized with the other screens' writes and with manual associations. Each file
dealt with becomes a :class:`~catd.digitalizacion.items.ScanItem` the view lists.

Manual association takes two steps: :meth:`propose_association` resolves the typed
CLAVE_ACTA against the catalog (in memory) and shows the acta it names;
only :meth:`confirm_association` stores anything.
"""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject
from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal
from PySide6.QtGui import QImage
from shiboken6 import isValid

from catd.acopio.presenter import Tone
from catd.digitalizacion.items import Check
from catd.digitalizacion.items import ScanItem
from catd.digitalizacion.items import item_from
from catd.digitalizacion.items import item_from_result
from catd.digitalizacion.items import quality_checks
from catd.imageview import decode_image
from catd.taskman import TaskManager
from catd.taskman import describe_error
from prep.catalog import Acta
from prep.qr import ActaCodec
from prep.qr import CodeRejected
from prep.station.accounts import Operator
from prep.station.digitalizacion import ImageTally
from prep.station.digitalizacion import ScannerSettings
from prep.station.digitalizacion import folder_problem
from prep.station.digitalizacion import image_tally
from prep.station.digitalizacion import settle_associated
from prep.station.errors import StationError
from prep.station.scan.hotfolder import MOTIVO_SUFFIX
from prep.station.scan.hotfolder import TEMPORARY_SUFFIXES
from prep.station.scan.hotfolder import Disposition
from prep.station.scan.hotfolder import HotFileResult
from prep.station.scan.hotfolder import HotFolder
from prep.station.scan.hotfolder import HotFolderOptions
from prep.station.scan.quality import decode_problem
from prep.station.scan.service import DigitalizacionResult
from prep.station.scan.service import DigitalizacionService
from prep.station.station import Station

log = logging.getLogger("catd.digitalizacion")
T = TypeVar("T")

MAX_TYPED_CHARS = 256
STABLE_SECONDS = 1.0
"""How long a file must stay unchanged before it is taken: the whole-image check
catches a file still being written, so one second (not the hot folder's default two)
is enough, and the operator sees the scan sooner."""
PREVIEW_CACHE = 6  # decoded pages kept for going back and forth in the list
TALLY_EVERY_POLLS = 20  # about every 10 s at the default poll interval


class Association(enum.StrEnum):
    """Where a manual association stands."""

    NONE = "none"
    CONFIRM = "confirm"  # the acta is shown; the next Enter stores
    SAVING = "saving"


@dataclass(frozen=True)
class Counters:
    """This operator's shift, and the station's actas still without an image."""

    digitalizadas: int
    rechazadas: int
    desde: datetime
    tally: ImageTally | None


@dataclass(frozen=True)
class FolderState:
    """The watched folder and how watching it goes."""

    path: Path | None
    tone: Tone
    message: str


@dataclass(frozen=True)
class AssociationState:
    """The manual-association panel of the selected item."""

    item_id: int | None
    stage: Association
    tone: Tone = Tone.IDLE
    message: str = ""
    acta: Acta | None = None


@dataclass
class _Shift:
    since: datetime
    ids: int = 0
    digitalizadas: set[int] = field(default_factory=set)


class DigitalizacionPresenter(QObject):
    """Turns scanner files into imagen records for one logged-in operator."""

    item_did_arrive = Signal(int)
    item_did_change = Signal(int)
    counters_did_change = Signal(object)  # Counters
    folder_did_change = Signal(object)  # FolderState
    association_did_change = Signal(object)  # AssociationState
    preview_did_load = Signal(int, object, str)  # item id, QImage | None, why not

    def __init__(self, station: Station, operator: Operator, tasks: TaskManager,
                 options: HotFolderOptions | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.station = station
        self.operator = operator
        self.tasks = tasks
        self.service = DigitalizacionService(station, operator.id)
        self.options = options or HotFolderOptions(max_bytes=self.service.policy.max_bytes,
                                                   stable_seconds=STABLE_SECONDS)
        self.items: dict[int, ScanItem] = {}
        self.folder = FolderState(None, Tone.PENDING, self.tr("Preparando la carpeta…"))
        self.association = AssociationState(None, Association.NONE)
        self._shift = _Shift(station.store.clock())
        self._tally: ImageTally | None = None
        self._codec: ActaCodec | None = None
        self._hot: HotFolder | None = None
        self._polling = False
        self._polls = 0
        self._poll_failed = False
        self._previews: dict[int, QImage] = {}
        self._retrying: dict[str, int] = {}  # file name → item waiting to be retried
        self._timer = QTimer(self)
        self._timer.setInterval(max(10, int(self.options.poll_seconds * 1000)))
        self._timer.timeout.connect(self.poll)

    # start and folder ----------------------------------------------------------------

    def start(self) -> None:
        """Read the folder setting, the catalog and the tally (worker), then watch."""
        station, service = self.station, self.service

        def load() -> tuple[ScannerSettings, ImageTally, ActaCodec | None, str]:
            # The folder itself is not touched here: the first poll creates it or says
            # why it cannot be used, and keeps trying (a network share mounted later).
            settings = ScannerSettings.load(station.data_dir)
            try:
                codec: ActaCodec | None = service.codec()
                problem = ""
            except StationError as exc:  # no catalog yet: files wait, the screen says why
                codec, problem = None, str(exc)
            return settings, image_tally(station), codec, problem

        def loaded(result: tuple[ScannerSettings, ImageTally, ActaCodec | None, str]) -> None:
            settings, tally, codec, problem = result
            self._codec = codec
            self._tally = tally
            self._watch(settings.folder, problem)
            self._emit_counters()

        def failed(error: BaseException) -> None:
            self._set_folder_state(FolderState(None, Tone.ERROR, self.tr(
                "No se puede empezar a digitalizar: {why}").format(why=describe_error(error))))
        self._guarded_run(load, loaded, failed)

    def change_folder(self, folder: Path) -> None:
        """Watch ``folder`` from now on (and remember it for the next start)."""
        station = self.station

        def save() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            ScannerSettings(folder).save(station.data_dir)

        def failed(error: BaseException) -> None:
            why = folder_problem(error) if isinstance(error, OSError) else describe_error(error)
            current = self.folder.path
            self._set_folder_state(FolderState(current, Tone.ERROR, self.tr(
                "No se puede usar la carpeta {folder}: {why}. Se sigue usando la anterior."
            ).format(folder=folder, why=why)))
        self._guarded_run(save, lambda _: self._watch(folder, ""), failed)

    def _watch(self, folder: Path, problem: str) -> None:
        log.info("watching %s", folder)
        self._hot = HotFolder(folder, self.service.handle_file, None, self.options)
        if problem:
            self._set_folder_state(FolderState(folder, Tone.WARN, problem))
        else:
            self._set_folder_state(FolderState(folder, Tone.OK, self.tr(
                "Esperando imágenes del escáner.")))
        self._timer.start()
        self.poll()

    def stop(self) -> None:
        """Stop watching (the screen is closing)."""
        self._timer.stop()

    # polling ---------------------------------------------------------------------------

    def poll(self) -> None:
        """Ask for one look at the folder unless one is already under way."""
        hot = self._hot
        if hot is None or self._polling:
            return
        self._polling = True
        self._polls += 1
        station, service, need_codec = self.station, self.service, self._codec is None
        # Acopio at this station (another screen) changes the tally too: now and then.
        recount = self._polls % TALLY_EVERY_POLLS == 0

        def look() -> tuple[list[HotFileResult], ImageTally | None, ActaCodec | None,
                            list[str]]:
            results = hot.poll()
            stored = any(isinstance(r.detail, DigitalizacionResult) and r.detail.ok
                         for r in results)
            return (results, image_tally(station) if stored or recount else None,
                    _codec_or_none(service) if need_codec else None,
                    _files_in(hot.directory))

        def done(outcome: tuple[list[HotFileResult], ImageTally | None,
                                ActaCodec | None, list[str]]) -> None:
            self._polling = False
            results, tally, codec, present = outcome
            if hot is not self._hot:
                return  # the folder changed meanwhile: the old folder's news are stale
            if codec is not None:
                self._codec = codec
            # Clear what polling itself reported (the folder is back, the catalog came);
            # a refused change of folder stays on screen.
            if self._poll_failed or (codec is not None and self.folder.tone is Tone.WARN):
                self._poll_failed = False
                self._set_folder_state(FolderState(hot.directory, Tone.OK, self.tr(
                    "Esperando imágenes del escáner.")))
            for result in results:
                self._arrived(result)
            self._show_receiving(hot.directory,
                                 [n for n in present if n not in self._retrying])
            if results or (tally is not None and tally != self._tally):
                self._tally = tally or self._tally
                self._emit_counters()

        def failed(error: BaseException) -> None:
            self._polling = False
            self._poll_failed = True
            if isinstance(error, OSError):
                why = self.tr(
                    "No se puede usar la carpeta del escáner ({why}). Revise que exista y que "
                    "el escáner esté conectado, o elija otra con F4; se sigue intentando.")
                message = why.format(why=folder_problem(error))
            else:
                message = describe_error(error)
            self._set_folder_state(FolderState(hot.directory, Tone.ERROR, message))
        if not self._guarded_run(look, done, failed):
            self._polling = False

    def _show_receiving(self, folder: Path, receiving: list[str]) -> None:
        """Files the scanner is still writing (not taken yet): «recibiendo», so a scan
        shows up the moment it lands, not seconds later when it is stored."""
        if self.folder.tone not in (Tone.OK, Tone.PENDING) or self.folder.path != folder:
            return  # a problem with the folder stays on screen
        if not receiving:
            state = FolderState(folder, Tone.OK, self.tr("Esperando imágenes del escáner."))
        elif len(receiving) == 1:
            state = FolderState(folder, Tone.PENDING, self.tr(
                "Recibiendo «{name}» del escáner…").format(name=receiving[0]))
        else:
            state = FolderState(folder, Tone.PENDING, self.tr(
                "Recibiendo {n} imágenes del escáner…").format(n=len(receiving)))
        if state != self.folder:
            self._set_folder_state(state)

    def _arrived(self, result: HotFileResult) -> None:
        detail = result.detail if isinstance(result.detail, DigitalizacionResult) else None
        previous_id = self._retrying.pop(result.name, None)
        item_id = previous_id if previous_id is not None else self._next_id()
        item = item_from(item_id, result, detail, self.station.store.clock())
        self.items[item_id] = item
        if result.disposition is Disposition.REINTENTAR:
            self._retrying[result.name] = item_id
        if item.stored and item.motivo != "ya_guardada":
            self._shift.digitalizadas.add(item_id)
        self._previews.pop(item_id, None)
        if previous_id is None:
            self.item_did_arrive.emit(item_id)
        else:
            self.item_did_change.emit(item_id)

    # preview ---------------------------------------------------------------------------

    def load_preview(self, item_id: int) -> None:
        """Decode the item's image on a worker; :attr:`preview_did_load` carries it."""
        cached = self._previews.get(item_id)
        if cached is not None:
            self.preview_did_load.emit(item_id, cached, "")
            return
        item = self.items.get(item_id)
        if item is None:
            return
        path, blob_sha256, stored = item.path, item.blob_sha256, item.stored
        blobs = self.station.blobs

        def read() -> tuple[QImage | None, str]:
            try:
                data = path.read_bytes() if path is not None else None
            except OSError:
                data = None
            if data is None and blob_sha256 is not None:
                # Moved or deleted from procesadas/: the station keeps the same bytes.
                data = blobs.read(blob_sha256)
            if data is None:
                return None, self.tr("El archivo ya no está en la carpeta del escáner.")
            # A file the checks refused may be cut short: Qt's decoder would complain
            # on the console and show half a page, so ask Pillow first.
            if not stored and decode_problem(data) is not None:
                return None, self.tr("No se puede mostrar: el archivo no es una imagen "
                                     "completa.")
            image = decode_image(data)
            if image is None:
                return None, self.tr("No se puede mostrar: el archivo no es una imagen "
                                     "completa.")
            return image, ""

        def done(loaded: tuple[QImage | None, str]) -> None:
            image, why = loaded
            if image is not None:
                self._previews[item_id] = image
                while len(self._previews) > PREVIEW_CACHE:
                    self._previews.pop(next(iter(self._previews)))
            self.preview_did_load.emit(item_id, image, why)

        def failed(error: BaseException) -> None:
            self.preview_did_load.emit(item_id, None, describe_error(error))
        self._guarded_run(read, done, failed)

    # manual association ----------------------------------------------------------------

    def select(self, item_id: int | None) -> None:
        """The operator moved to another item: any half-done association is dropped."""
        if self.association.item_id != item_id:
            self._set_association(AssociationState(item_id, Association.NONE))

    def propose_association(self, item_id: int, typed: str) -> None:
        """First step: show which acta ``typed`` names; nothing is stored yet. Pressing
        it again with the same acta shown confirms."""
        item = self.items.get(item_id)
        if item is None or not item.associable:
            return
        if self.association.stage is Association.SAVING:
            return
        codec = self._codec
        if codec is None:
            self._set_association(AssociationState(item_id, Association.NONE, Tone.ERROR,
                                                   self.tr("El catálogo aún no está "
                                                           "disponible en esta estación.")))
            return
        try:
            acta = codec.decode(typed[:MAX_TYPED_CHARS + 1])
        except CodeRejected as rejected:
            self._set_association(AssociationState(item_id, Association.NONE, Tone.ERROR,
                                                   rejected.mensaje))
            return
        current = self.association
        if (current.item_id == item_id and current.stage is Association.CONFIRM
                and current.acta is not None and current.acta.clave == acta.clave):
            self.confirm_association()
            return
        self._set_association(AssociationState(
            item_id, Association.CONFIRM, Tone.WARN,
            self.tr("¿Es esta el acta del papel? Enter otra vez guarda la imagen como esta "
                    "acta; Esc corrige."),
            acta))

    def cancel_association(self) -> None:
        if self.association.stage is Association.CONFIRM:
            self._set_association(AssociationState(self.association.item_id,
                                                   Association.NONE))

    def confirm_association(self) -> None:
        """Second step: store the image as the acta shown."""
        state = self.association
        item = self.items.get(state.item_id) if state.item_id is not None else None
        if state.stage is not Association.CONFIRM or item is None or state.acta is None \
                or item.path is None:
            return
        acta, path, service, station = state.acta, item.path, self.service, self.station
        self._set_association(replace(state, stage=Association.SAVING, tone=Tone.PENDING,
                                      message=self.tr("Guardando…")))

        def store() -> tuple[DigitalizacionResult, Path, ImageTally | None]:
            result = service.asociar_manual(path.read_bytes(), acta.clave)
            if not result.ok:
                return result, path, None
            return result, settle_associated(path), image_tally(station)

        def done(outcome: tuple[DigitalizacionResult, Path, ImageTally | None]) -> None:
            result, new_path, tally = outcome
            if not result.ok:
                self._set_association(AssociationState(item.id, Association.NONE,
                                                       Tone.ERROR, result.mensaje))
                return
            updated = item_from_result(item.id, item.name, item.at, result, new_path)
            self.items[item.id] = updated
            if updated.motivo != "ya_guardada":
                self._shift.digitalizadas.add(item.id)
            self._tally = tally
            self._set_association(AssociationState(item.id, Association.NONE, Tone.OK,
                                                   result.mensaje))
            self.item_did_change.emit(item.id)
            self._emit_counters()

        def failed(error: BaseException) -> None:
            self._set_association(AssociationState(item.id, Association.NONE, Tone.ERROR,
                                                   describe_error(error)))
        self._guarded_run(store, done, failed)

    # state -----------------------------------------------------------------------------

    def checks(self, item: ScanItem) -> list[Check]:
        """The quality review of ``item`` as the detail panel lists it."""
        return quality_checks(item, self.service.policy)

    def counters(self) -> Counters:
        rechazadas = sum(1 for i in self.items.values() if i.tone is Tone.ERROR)
        return Counters(len(self._shift.digitalizadas), rechazadas, self._shift.since,
                        self._tally)

    def _emit_counters(self) -> None:
        self.counters_did_change.emit(self.counters())

    def _set_folder_state(self, state: FolderState) -> None:
        self.folder = state
        self.folder_did_change.emit(state)

    def _set_association(self, state: AssociationState) -> None:
        self.association = state
        self.association_did_change.emit(state)

    def _next_id(self) -> int:
        self._shift.ids += 1
        return self._shift.ids

    def _guarded_run(self, fn: Callable[[], T], on_done: Callable[[T], None],
                     on_error: Callable[[BaseException], None]) -> bool:
        """Run on the ``db`` lane; the callbacks are dropped once this presenter is gone
        (the operator logged out while the work ran). ``False``: the task manager is
        shut down (the program is closing)."""
        def done(value: T) -> None:
            if isValid(self):
                on_done(value)

        def failed(error: BaseException) -> None:
            if isValid(self):
                on_error(error)
        try:
            self.tasks.run("db", fn, done, failed)
        except RuntimeError:
            self._timer.stop()
            return False
        return True


def _files_in(folder: Path) -> list[str]:
    """The files waiting in the hot folder (as the hot folder sees them: no hidden or
    temporary names, no links, no subfolders), sorted."""
    names = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(".") or name.lower().endswith(TEMPORARY_SUFFIXES) \
                        or name.endswith(MOTIVO_SUFFIX):
                    continue
                if entry.is_file(follow_symlinks=False):
                    names.append(name)
    except OSError:
        return []  # the poll itself reports a folder it cannot read
    return sorted(names)


def _codec_or_none(service: DigitalizacionService) -> ActaCodec | None:
    try:
        return service.codec()
    except StationError:  # no catalog yet: asked again on the next poll
        return None
