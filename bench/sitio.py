"""Benchmark: citizen visits per second a difusor's nginx answers (issue 30).

One corte of the simulated election (``--scale``, small synthetic images) published by
the central's packager, served by Debian's nginx with installer/nginx/prep-difusor.conf
on loopback (tests/difusor/nginx.py: one worker process), and ``wrk`` (Debian package
``wrk``) replaying citizen visits for ``--segundos`` with ``--conexiones`` connections,
``Accept-Encoding: gzip`` as browsers ask.

A visit is what prep/corte/site_assets/app.js loads for a reader who opens the site,
an election, a distrito, a sección of it and an acta of that sección with its image:

  /latest/sitio/ (index.html, the header), estilo.css, sha256.js, app.js, votos.js,
  /latest.txt, datos/indice.js (from the corte latest.txt names), datos/e<EE>.js (the
  election), datos/e<EE>/d<DDD>.js (the distrito: its secciones' summaries),
  datos/secciones.js (where each distrito's bloques of secciones start),
  datos/e<EE>/d<DDD>/s<SSSS>.js (the bloque holding the sección: its votes and acta
  rows; the acta page reuses it, and adds the bloque of any other distrito holding the
  sección), datos/e<EE>/d<DDD>/h<SSSS>.js (the bloque's history), ../imagenes/<sha256>.png.

``--visitas`` visits with different elections, distritos, secciones and actas (real
paths of the corte) are replayed in turn by a Lua script's ``request()``. Prints one
JSON line: ``visits_per_s`` (requests/s over requests per visit, per nginx worker),
``p99_ms`` (wrk's latency distribution, every request of the visit), ``first_visit_kb``
(what a visit with an empty browser cache downloads without the acta image: each
response fetched with gzip, headers and compressed body as HTTP/1.1 puts them on the
wire, TLS not counted, in kB of 1,000 bytes; the mean over the visits, their minimum and
maximum beside, and the first visit's files one by one) and the conditions. nginx
and wrk share the machine: the numbers are a floor for a dedicated server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import zlib
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

from bench.corte_db import scaled_catalog
from bench.requisitos import programas
from central.publication.feed import actualizar_indice
from central.publication.publicar import Publicado
from central.publication.publicar import publish
from central.publication.snapshot import Imagen
from central.publication.snapshot import Snapshot
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.difusor.nginx import nginx_serving
from tests.difusor.origen import identidad
from tests.harness.corte_data import day_after
from tests.harness.corte_data import image_bytes
from tests.harness.corte_data import image_sha256
from tests.harness.netns_targets import TlsIdentity

_ASSETS = ("estilo.css", "sha256.js", "app.js", "votos.js")
_RECIBIR = re.compile(r'PREP\.recibir\("([^"]+)",(.*)\);?\s*$', re.S)

# wrk's script: every thread cycles through the visits' requests, starting at a
# different visit, and counts a visit each time it has sent a visit's last request.
_LUA = """
local rutas = {%(rutas)s}
local inicio = {%(inicios)s}
local n_visitas = %(n_visitas)d
local hilos = {}

function setup(thread)
  table.insert(hilos, thread)
  thread:set("id", #hilos)
end

function init(args)
  peticiones = {}
  es_inicio = {}
  for i, ruta in ipairs(rutas) do peticiones[i] = wrk.format("GET", ruta) end
  for _, i in ipairs(inicio) do es_inicio[i] = true end
  i = inicio[((id - 1) * 7) %% n_visitas + 1]
  visitas = 0
end

function request()
  local p = peticiones[i]
  i = i + 1
  if i > #peticiones then i = 1 end
  if es_inicio[i] then visitas = visitas + 1 end
  return p
end

function done(summary, latency, requests)
  local v = 0
  for _, t in ipairs(hilos) do v = v + t:get("visitas") end
  local e = summary.errors
  io.write(string.format(
    'RESULTADO {"requests": %%.0f, "duration_us": %%.0f, "bytes": %%.0f, "visitas": %%.0f, ' ..
    '"connect": %%.0f, "read": %%.0f, "write": %%.0f, "status": %%.0f, "timeout": %%.0f, ' ..
    '"p50_us": %%.0f, "p90_us": %%.0f, "p99_us": %%.0f, "max_us": %%.0f, "mean_us": %%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, v, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--segundos", type=int, default=10)
    parser.add_argument("--conexiones", type=int, default=64)
    parser.add_argument("--hilos", type=int, default=1, help="wrk threads")
    parser.add_argument("--visitas", type=int, default=24,
                        help="different visits replayed in turn")
    parser.add_argument("--imagenes-cada", type=int, default=1, metavar="N",
                        help="publish the image of one acta in N (a 12.9 corte with every "
                             "image is 500,000 files); visits open actas with an image")
    args = parser.parse_args()
    if not (1 <= args.segundos <= 600 and 1 <= args.conexiones <= 1024
            and 1 <= args.hilos <= min(16, args.conexiones) and 1 <= args.visitas <= 1000
            and args.imagenes_cada >= 1):
        raise SystemExit("límites: --segundos 1..600, --conexiones 1..1024, --hilos "
                         "1..16 (no más que conexiones), --visitas 1..1000, "
                         "--imagenes-cada ≥ 1")
    wrk = programas(("wrk", "wrk"), ("nginx", "nginx"))["wrk"]
    with tempfile.TemporaryDirectory(prefix="bench-sitio-") as tmp:
        base = Path(tmp)
        corte, publicado = _corte(base, args.scale, args.seed, args.imagenes_cada)
        sitio_datos = [f.stat().st_size for f in (corte / "sitio" / "datos").rglob("*.js")]
        visitas = _visitas(corte, args.visitas, args.seed)
        sin_comprimir = sum(_archivo(corte, r).stat().st_size for r in visitas[0][:-1])
        imagen = _archivo(corte, visitas[0][-1]).stat().st_size
        tls = identidad(base / "tls")
        carga = os.getloadavg()
        with nginx_serving(base / "publicacion", tls, base / "nginx") as port:
            workers = _workers(base / "nginx" / "nginx.pid")
            cable = {ruta: _en_el_cable(port, tls, ruta)
                     for ruta in sorted({r for visita in visitas for r in visita[:-1]})}
            salida = _wrk(wrk, port, visitas, base, args)
        carga_fin = os.getloadavg()
    por_visita = sum(map(len, visitas)) / len(visitas)
    kb = [sum(cable[r]["bytes"] for r in visita[:-1]) / 1000 for visita in visitas]
    rps = salida["requests"] / (salida["duration_us"] / 1e6)
    errores = {k: int(salida[k]) for k in ("connect", "read", "write", "status", "timeout")}
    print(json.dumps({
        "bench": "sitio", "visits_per_s": round(rps / por_visita / workers, 1),
        "first_visit_kb": round(statistics.mean(kb), 1),
        "first_visit_kb_min_max": [round(min(kb), 1), round(max(kb), 1)],
        "p99_ms": round(salida["p99_us"] / 1000, 2),
        "p50_ms": round(salida["p50_us"] / 1000, 2),
        "p90_ms": round(salida["p90_us"] / 1000, 2),
        "max_ms": round(salida["max_us"] / 1000, 1),
        "requests_per_s": round(rps, 1), "requests_per_visit": round(por_visita, 2),
        "visitas_enviadas": int(salida["visitas"]), "errores": errores,
        "mb_per_s": round(salida["bytes"] / (salida["duration_us"] / 1e6) / 1e6, 2),
        "visita_0": {"kb": round(kb[0], 1),
                     "sin_comprimir_kb": round(sin_comprimir / 1000, 1),
                     "bytes": {r: cable[r]["bytes"] for r in visitas[0][:-1]},
                     "imagen_bytes": imagen},
        "sin_gzip": sorted(r for r, b in cable.items() if not b["gzip"]),
        "corte": {"segundos": round(sum(publicado.seconds.values()), 2),
                  "fases": dict(publicado.seconds), "archivos": publicado.files,
                  "sitio_datos_archivos": len(sitio_datos),
                  "sitio_datos_mb": round(sum(sitio_datos) / 1e6, 1)},
        "scale": args.scale, "imagenes_cada": args.imagenes_cada,
        "visitas_distintas": len(visitas), "nginx_workers": workers,
        "wrk_threads": args.hilos, "wrk_connections": args.conexiones,
        "segundos": args.segundos, "cpus": os.cpu_count(),
        "loadavg_antes": [round(x, 2) for x in carga],
        "loadavg_despues": [round(x, 2) for x in carga_fin],
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds")}))
    if any(errores.values()):
        raise SystemExit(f"wrk contó errores: {errores}")


def _corte(base: Path, scale: float, seed: int, imagenes_cada: int
           ) -> tuple[Path, Publicado]:
    key = SigningKey.generate()
    catalog = scaled_catalog(seed, scale)
    hora = day_after(catalog, dtime(1, 0))
    estado = simulate(catalog, seed, hora, pendientes=0.02).estado
    blobs = base / "blobs"
    imagenes: dict[str, Imagen] = {}
    for clave, est in list(estado.items()):
        if est.captura is None or zlib.crc32(clave.encode()) % imagenes_cada:
            continue
        sha = image_sha256(clave)
        (blobs / sha[:2]).mkdir(parents=True, exist_ok=True)
        (blobs / sha[:2] / sha[2:]).write_bytes(image_bytes(clave))
        estado[clave] = replace(est, sha256=sha)
        imagenes[clave] = Imagen(sha, "image/png")
    publicacion = base / "publicacion"
    hecho = publish(publicacion, Snapshot(hora, 1, catalog, estado, (), imagenes), key,
                    blobs=blobs, anterior=None)
    actualizar_indice(publicacion, key)
    return hecho.path, hecho


def _datos(corte: Path, ruta: str) -> dict[str, Any]:
    """A site data file (``datos/<ruta>.js``) as the page receives it."""
    match = _RECIBIR.match((corte / "sitio" / "datos" / f"{ruta}.js").read_text())
    assert match is not None and match.group(1) == ruta, ruta
    datos: dict[str, Any] = json.loads(match.group(2))
    return datos


def _visitas(corte: Path, cuantas: int, seed: int) -> list[list[str]]:
    """``cuantas`` visits (request paths, the acta's image last): elections in turn, a
    random distrito of each (all of an election's before any again), a random acta with
    an image in it and its sección."""
    rng = random.Random(seed)
    datos = f"/{corte.name}/sitio/datos/"
    elecciones = [e["codigo"] for e in _datos(corte, "indice")["elecciones"]]
    indice_secciones = _datos(corte, "secciones")
    secciones: dict[str, list[list[int]]] = indice_secciones["distritos"]
    inicios: dict[str, list[int]] = indice_secciones["bloques"]
    pendientes: dict[str, list[int]] = {}
    visitas: list[list[str]] = []
    for intento in range(100 * cuantas):
        if len(visitas) == cuantas:
            break
        codigo = elecciones[intento % len(elecciones)]
        if not pendientes.get(codigo):
            pendientes[codigo] = sorted(
                int(f.stem[1:]) for f in (corte / "sitio" / "datos" / f"e{codigo}").glob("d*.js"))
            rng.shuffle(pendientes[codigo])
        distrito = pendientes[codigo].pop()
        actas = []
        for primera in inicios[str(distrito)]:
            ruta = f"e{codigo}/d{distrito:03d}/s{primera:04d}"
            if (corte / "sitio" / "datos" / f"{ruta}.js").is_file():
                b = _datos(corte, ruta)
                col = {nombre: i for i, nombre in enumerate(b["columnas"])}
                actas += [(primera, a) for a in b["actas"] if a[col["IMAGEN"]]]
        if not actas:
            continue
        primera, acta = rng.choice(actas)
        seccion = int(acta[col["SECCION"]])
        # The acta page looks the acta up in the bloque of every distrito holding its
        # sección (app.js ubicarActa); the one just visited is in the page's memory.
        otros = [(int(k), max(s for s in inicios[k] if s <= seccion))
                 for k, rangos in secciones.items() if int(k) != distrito
                 and any(a <= seccion <= b for a, b in rangos)]
        imagen: str = acta[col["IMAGEN"]]
        assert imagen.startswith("../imagenes/"), imagen
        visitas.append(
            ["/latest/sitio/", *(f"/latest/sitio/{a}" for a in _ASSETS), "/latest.txt",
             f"{datos}indice.js", f"{datos}e{codigo}.js",
             f"{datos}e{codigo}/d{distrito:03d}.js", f"{datos}secciones.js",
             f"{datos}e{codigo}/d{distrito:03d}/s{primera:04d}.js",
             *(f"{datos}e{codigo}/d{o:03d}/s{p:04d}.js" for o, p in otros),
             f"{datos}e{codigo}/d{distrito:03d}/h{primera:04d}.js",
             f"/{corte.name}/{imagen.removeprefix('../')}"])
    if len(visitas) < cuantas:
        raise SystemExit("el corte no tiene actas con imagen para tantas visitas")
    for ruta in {r for visita in visitas for r in visita}:
        assert _archivo(corte, ruta).is_file(), ruta
    return visitas


def _archivo(corte: Path, ruta: str) -> Path:
    """The file of the corte a request path names (``sitio/`` is its index.html)."""
    relativa = ruta.lstrip("/")
    if relativa.startswith("latest/"):
        relativa = corte.name + relativa.removeprefix("latest")
    return corte.parent / (relativa + "index.html" if relativa.endswith("/") else relativa)


def _workers(pid_file: Path) -> int:
    """nginx's worker processes: the children of its master."""
    master = pid_file.read_text().strip()
    hijos = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            campos = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        hijos += campos[1] == master
    if hijos == 0:
        raise SystemExit("nginx no tiene procesos worker")
    return hijos


def _en_el_cable(port: int, tls: TlsIdentity, ruta: str) -> dict[str, Any]:
    """One request as a browser sends it (gzip accepted): the response's bytes on the
    wire (HTTP/1.1 headers and body as sent, chunked framing included; not TLS's)."""
    contexto = ssl.create_default_context(cafile=str(tls.cert_file))
    contexto.check_hostname = False
    pedido = (f"GET {ruta} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
              "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as crudo, \
            contexto.wrap_socket(crudo) as conexion:
        conexion.sendall(pedido.encode())
        respuesta = b""
        while parte := conexion.recv(65536):
            respuesta += parte
    cabecera = respuesta.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    assert cabecera.startswith("http/1.1 200"), (ruta, cabecera)
    return {"bytes": len(respuesta), "gzip": "content-encoding: gzip" in cabecera}


def _wrk(wrk: str, port: int, visitas: list[list[str]], base: Path,
         args: argparse.Namespace) -> dict[str, float]:
    rutas = [ruta for visita in visitas for ruta in visita]
    inicios, i = [], 1
    for visita in visitas:
        inicios.append(i)
        i += len(visita)
    script = base / "visita.lua"
    script.write_text(_LUA % {"rutas": ", ".join(json.dumps(r) for r in rutas),
                              "inicios": ", ".join(map(str, inicios)),
                              "n_visitas": len(visitas)})
    done = subprocess.run([wrk, f"-t{args.hilos}", f"-c{args.conexiones}",
                           f"-d{args.segundos}s", "--timeout", "10s", "--latency",
                           "-H", "Accept-Encoding: gzip", "-s", str(script),
                           f"https://127.0.0.1:{port}"],
                          capture_output=True, text=True, check=True,
                          timeout=args.segundos + 60)
    match = re.search(r"^RESULTADO (\{.*\})$", done.stdout, re.M)
    if match is None:
        raise SystemExit(f"salida de wrk inesperada:\n{done.stdout}\n{done.stderr}")
    resultado: dict[str, float] = json.loads(match.group(1))
    return resultado


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.sitio", main))
