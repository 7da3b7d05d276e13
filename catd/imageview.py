"""An acta image viewer: zoom, pan, fit to width or page, driven by the keyboard.

The image is the original file's bytes decoded in memory (``QImage.fromData``): what
the scanner wrote is what the operator sees, and nothing is ever written back.
Decoding a 200 dpi page takes tens of milliseconds, so screens decode the next actas
on a worker (:func:`decode_image`, thread-safe) and hand the viewer a ready
:class:`QImage`.

The viewer never takes the keyboard focus (the capture form keeps it); its keys are
shortcuts installed on the screen that hosts it (:meth:`ImageView.install_shortcuts`),
listed in :data:`IMAGE_KEYS` so the screen can show them.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QImage
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QPainter
from PySide6.QtGui import QPixmap
from PySide6.QtGui import QResizeEvent
from PySide6.QtGui import QShortcut
from PySide6.QtGui import QTransform
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGraphicsPixmapItem
from PySide6.QtWidgets import QGraphicsScene
from PySide6.QtWidgets import QGraphicsView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

MIN_ZOOM, MAX_ZOOM = 0.05, 8.0
ZOOM_STEP = 1.25
PAN_FRACTION = 0.2  # of the visible area, per key press

IMAGE_KEYS: tuple[tuple[str, str], ...] = (
    ("Ctrl++/−", "zoom"),
    ("Ctrl+0", "al ancho"),
    ("Ctrl+9", "página"),
    ("Alt+flechas", "mover"),
    ("RePág/AvPág", "subir/bajar"),
)
"""The viewer's keys as the screen lists them."""


def decode_image(data: bytes) -> QImage | None:
    """The image in ``data`` (JPEG, PNG or TIFF as stored), or ``None`` if it does not
    decode. Safe on a worker thread (a :class:`QImage`, not a pixmap)."""
    image = QImage.fromData(QByteArray(data))
    return None if image.isNull() else image


class ImageView(QGraphicsView):
    """Shows one image at a time; starts fitted to its width, scrolled to the top, and
    keeps a zoom the operator chose (or a page fit) for the next image."""

    zoom_did_change = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageView")
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        scene = self.scene()
        assert scene is not None
        scene.addItem(self._item)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._zoom = 1.0
        self._mode: str | None = "width"  # "width", "page" or None (free zoom)
        self.notice = QLabel(self.viewport())
        self.notice.setObjectName("imageNotice")
        self.notice.setWordWrap(True)
        self.notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        overlay = QVBoxLayout(self.viewport())
        overlay.addStretch(1)
        overlay.addWidget(self.notice)
        overlay.addStretch(2)
        self.notice.hide()

    # content -------------------------------------------------------------------------

    @property
    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    @property
    def zoom(self) -> float:
        return self._zoom

    def image_size(self) -> tuple[int, int]:
        pixmap = self._item.pixmap()
        return pixmap.width(), pixmap.height()

    def set_image(self, image: QImage) -> None:
        """Show ``image`` from its top: fitted to the width, or at the zoom the operator
        chose for the previous one (at 1024×768 a width fit can be too small to read:
        whoever zoomed in once keeps that zoom from acta to acta)."""
        self.notice.hide()
        self._item.setPixmap(QPixmap.fromImage(image))
        scene = self.scene()
        assert scene is not None
        scene.setSceneRect(self._item.boundingRect())
        if self._mode is None:
            self._apply(self._zoom)
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().minimum())
            self.verticalScrollBar().setValue(self.verticalScrollBar().minimum())
        else:
            self._refit()
            if self._mode == "width":
                self.verticalScrollBar().setValue(self.verticalScrollBar().minimum())

    def show_notice(self, text: str) -> None:
        """No image: a message in its place (loading, or why it cannot be shown)."""
        self._item.setPixmap(QPixmap())
        self.notice.setText(text)
        self.notice.show()

    # zoom and pan ----------------------------------------------------------------------

    def fit_width(self) -> None:
        self._mode = "width"
        self._refit()
        bar = self.verticalScrollBar()
        bar.setValue(bar.minimum())

    def fit_page(self) -> None:
        self._mode = "page"
        self._refit()

    def zoom_in(self) -> None:
        self.set_zoom(self._zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self._zoom / ZOOM_STEP)

    def set_zoom(self, zoom: float) -> None:
        """Free zoom (1.0: one image pixel per screen pixel)."""
        self._mode = None
        self._apply(zoom)

    def pan(self, dx: float, dy: float) -> None:
        """Move by fractions of the visible area (positive: right, down)."""
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + round(dx * self.viewport().width()))
        v.setValue(v.value() + round(dy * self.viewport().height()))

    def _refit(self) -> None:
        width, height = self.image_size()
        if not width or not height:
            return
        area = self.viewport().size()
        # Leave room for the vertical scroll bar that a width fit brings along.
        bar = self.verticalScrollBar().sizeHint().width()
        if self._mode == "width":
            self._apply(max(1, area.width() - bar) / width)
        elif self._mode == "page":
            self._apply(min(area.width() / width, area.height() / height))

    def _apply(self, zoom: float) -> None:
        self._zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self.setTransform(QTransform.fromScale(self._zoom, self._zoom))
        self.zoom_did_change.emit(self._zoom)

    # Qt overrides ----------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_in() if event.angleDelta().y() > 0 else self.zoom_out()
            event.accept()
            return
        super().wheelEvent(event)

    # keys --------------------------------------------------------------------------

    def install_shortcuts(self, host: QWidget) -> None:
        """The viewer's keys, active while the focus is anywhere inside ``host``."""
        keys = {
            "Ctrl++": self.zoom_in, "Ctrl+=": self.zoom_in, "Ctrl+-": self.zoom_out,
            "Ctrl+0": self.fit_width, "Ctrl+9": self.fit_page,
            "Alt+Left": lambda: self.pan(-PAN_FRACTION, 0),
            "Alt+Right": lambda: self.pan(PAN_FRACTION, 0),
            "Alt+Up": lambda: self.pan(0, -PAN_FRACTION),
            "Alt+Down": lambda: self.pan(0, PAN_FRACTION),
            "PgUp": lambda: self.pan(0, -0.8), "PgDown": lambda: self.pan(0, 0.8),
        }
        for key, slot in keys.items():
            shortcut = QShortcut(QKeySequence(key), host, slot)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
