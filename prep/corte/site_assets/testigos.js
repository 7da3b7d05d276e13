/* The public log of cortes on the site (issue 67; docs/publicacion.md, «Registro público
 * de cortes»): which difusores (witnesses) cosigned the checkpoint that added this corte.
 *
 * Read when the page is viewed, from the publication's transparencia/ (beside the corte
 * directories, on the institute's origin and on every difusor's mirror), so a corte's
 * page gains its witnesses as they arrive without publishing the corte again. The page
 * checks what it shows, with WebCrypto (Ed25519 and SHA-256) and nothing downloaded:
 *
 *  1. the latest checkpoint and cofirmas/<i+1> are signed by the central's key (the
 *     corte's own llave_publica.pem, whose fingerprint the institute publishes);
 *  2. this corte (its name and the SHA-256 of its signed MANIFIESTO.sha256) is entry i,
 *     included (RFC 9162 proof) in the checkpoint of i+1 cortes that cofirmas/<i+1> holds;
 *  3. each cosignature in cofirmas/<i+1> by a difusor of datos/difusores.js has that
 *     difusor's key id (LLAVE_TESTIGO) and verifies (C2SP tlog-cosignature/v1); one that
 *     does not is not counted and is named.
 *
 * Without Ed25519 in WebCrypto (an old browser, a plain-HTTP mirror) the page shows the
 * cosigners whose key ids match and says the signatures are checked with
 * «prep verify-corte CARPETA --testigos», which also follows the consistency of every
 * later checkpoint.
 */
(function () {
  "use strict";

  var PREP = (window.PREP = window.PREP || {});
  var GUION = "\u2014 ";
  var ED25519 = 0x01, COFIRMA = 0x04;
  var MAX_NOTA = 65536, MAX_MANIFIESTO = 256 * 1024 * 1024;

  function fallo(mensaje) { var e = new Error(mensaje); e.registro = true; return e; }

  function bytes(texto) { return new TextEncoder().encode(texto); }

  function unir(partes) {
    var total = partes.reduce(function (n, p) { return n + p.length; }, 0);
    var out = new Uint8Array(total), k = 0;
    partes.forEach(function (p) { out.set(p, k); k += p.length; });
    return out;
  }

  function b64(texto) {
    if (!/^[A-Za-z0-9+\/]*={0,2}$/.test(texto) || texto.length % 4) {
      throw fallo("un valor en base64 no es válido");
    }
    var bin = atob(texto), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  function iguales(a, b) {
    if (a.length !== b.length) { return false; }
    for (var i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return false; } }
    return true;
  }

  function hex(b) {
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function sha256(datos) {
    return window.PREP_SHA256.hex(datos.buffer.slice(datos.byteOffset, datos.byteOffset + datos.length))
      .then(function (h) {
        var out = new Uint8Array(32);
        for (var i = 0; i < 32; i++) { out[i] = parseInt(h.substr(2 * i, 2), 16); }
        return out;
      });
  }

  /* A file's bytes (null when it is not published); at most MAX_NOTA bytes, or
     MAX_MANIFIESTO for the corte's manifest (one line per file of the corte). */
  function leer(url, cache, maximo) {
    return fetch(url, { cache: cache || "no-cache" }).then(function (r) {
      if (r.status === 404) { return null; }
      if (!r.ok) { throw fallo("no se pudo leer " + url.split("/").slice(-2).join("/") + " (HTTP " + r.status + ")"); }
      return r.arrayBuffer().then(function (b) {
        if (b.byteLength > (maximo || MAX_NOTA)) { throw fallo("un archivo del registro es demasiado grande"); }
        return new Uint8Array(b);
      });
    });
  }

  function texto(b) { return new TextDecoder("utf-8", { fatal: true }).decode(b); }

  /* ---- signed notes (C2SP signed-note; prep/transparencia/nota.py) ------------- */

  function nota(crudo) {
    var todo = texto(crudo), corte = todo.lastIndexOf("\n\n");
    if (corte < 0 || todo.slice(-1) !== "\n") { throw fallo("una nota firmada del registro está mal formada"); }
    var firmas = todo.slice(corte + 2, -1).split("\n").map(function (linea) {
      var partes = linea.slice(GUION.length).split(" ");
      if (linea.indexOf(GUION) !== 0 || partes.length !== 2) { throw fallo("una línea de firma está mal formada"); }
      var datos = b64(partes[1]);
      if (datos.length < 5) { throw fallo("una firma es demasiado corta"); }
      return { nombre: partes[0], id: datos.slice(0, 4), datos: datos.slice(4) };
    });
    var t = todo.slice(0, corte + 1), lineas = t.split("\n");
    if (lineas.length !== 4 || !/^\d+$/.test(lineas[1])) { throw fallo("una cabeza del registro está mal formada"); }
    return { texto: t, origen: lineas[0], tamano: Number(lineas[1]), raiz: b64(lineas[2]), firmas: firmas };
  }

  function idLlave(nombre, tipo, llave) {
    return sha256(unir([bytes(nombre + "\n"), new Uint8Array([tipo]), llave])).then(function (h) {
      return h.slice(0, 4);
    });
  }

  function ed25519(llave) {
    return crypto.subtle.importKey("raw", llave, { name: "Ed25519" }, false, ["verify"]);
  }

  function verificar(llave, firma, mensaje) {
    return ed25519(llave).then(function (k) {
      return crypto.subtle.verify({ name: "Ed25519" }, k, firma, mensaje);
    });
  }

  /* Whether Ed25519 works here (WebCrypto exists only in secure contexts). */
  function hayEd25519() {
    if (!window.crypto || !crypto.subtle) { return Promise.resolve(false); }
    return ed25519(new Uint8Array(32)).then(function () { return true; }, function () { return false; });
  }

  function firmadaPorCentral(n, llave) {
    return idLlave(n.origen, ED25519, llave).then(function (id) {
      var suyas = n.firmas.filter(function (f) { return f.nombre === n.origen && iguales(f.id, id); });
      return Promise.all(suyas.map(function (f) { return verificar(llave, f.datos, bytes(n.texto)); }));
    }).then(function (r) {
      if (r.indexOf(true) < 0) { throw fallo("la cabeza del registro no está firmada por la llave de este corte"); }
    });
  }

  /* The corte's llave_publica.pem (an Ed25519 SubjectPublicKeyInfo): its 32 raw bytes. */
  function llavePem(crudo) {
    var cuerpo = texto(crudo).replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    var der = b64(cuerpo);
    var prefijo = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    if (der.length !== 44 || !iguales(der.slice(0, 12), new Uint8Array(prefijo))) {
      throw fallo("la llave pública del corte no es Ed25519");
    }
    return der.slice(12);
  }

  /* A difusor's LLAVE_TESTIGO (nombre+id+base64(0x04 ‖ llave)). */
  function llaveTestigo(t) {
    var a = t.indexOf("+"), b = t.indexOf("+", a + 1);
    if (a < 1 || b < 0) { return null; }
    try {
      var crudo = b64(t.slice(b + 1));
      if (crudo.length !== 33 || crudo[0] !== COFIRMA) { return null; }
      return { id: t.slice(0, a), idHex: t.slice(a + 1, b).toLowerCase(), llave: crudo.slice(1) };
    } catch (err) { return null; }
  }

  /* ---- Merkle tree (RFC 9162 §2.1.3.2) ------------------------------------------ */

  function nodo(a, b) { return sha256(unir([new Uint8Array([1]), a, b])); }

  function incluida(hoja, i, tamano, prueba, raiz) {
    var fn = i, sn = tamano - 1, r = Promise.resolve(hoja), k = 0;
    if (i >= tamano) { return Promise.resolve(false); }
    for (; k < prueba.length; k++) {
      if (sn === 0) { return Promise.resolve(false); }
      (function (p) {
        if ((fn & 1) || fn === sn) {
          r = r.then(function (x) { return nodo(p, x); });
          if (!(fn & 1)) { while (!(fn & 1) && fn !== 0) { fn >>= 1; sn >>= 1; } }
        } else {
          r = r.then(function (x) { return nodo(x, p); });
        }
      })(prueba[k]);
      fn >>= 1; sn >>= 1;
    }
    return r.then(function (x) { return sn === 0 && iguales(x, raiz); });
  }

  /* ---- finding the corte: entries are in publication order (names sort by time) - */

  function clave(nombre) { // 20270606_2305_2 → ["20270606_2305", 2]
    var m = /^(\d{8}_\d{4})(?:_(\d+))?$/.exec(nombre);
    return m ? [m[1], Number(m[2] || 0)] : [nombre, 0];
  }

  function antes(a, b) {
    var x = clave(a), y = clave(b);
    return x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]);
  }

  function entrada(raiz, i) {
    return leer(raiz + "entradas/" + i, "default").then(function (crudo) {
      var m = crudo && /^prep-corte\/v1\nnombre (\S+)\nhora \S+\nmanifiesto ([0-9a-f]{64})\n$/.exec(texto(crudo));
      if (!m) { throw fallo("la entrada " + i + " del registro está mal formada"); }
      return { i: i, nombre: m[1], manifiesto: m[2], datos: crudo };
    });
  }

  function buscar(raiz, nombre, tamano) {
    function paso(lo, hi) { // the entry is in [lo, hi)
      if (lo >= hi) { return Promise.resolve(null); }
      var mid = (lo + hi) >> 1;
      return entrada(raiz, mid).then(function (e) {
        if (e.nombre === nombre) { return e; }
        return antes(nombre, e.nombre) ? paso(lo, mid) : paso(mid + 1, hi);
      });
    }
    return paso(0, tamano);
  }

  /* ---- the check -------------------------------------------------------------- */

  /* Resolves to {estado: "sin-registro"} (no log published beside this corte), or
     {estado: "ok", tamano, indice, validos: [difusor], invalidos: [difusor], verificadas}
     (verificadas: the signatures were checked here). Rejects naming what did not match. */
  PREP.testigos = function (publicacion, corte, difusores) {
    var raiz = publicacion + "transparencia/";
    var dir = publicacion + corte + "/";
    var llave, cabeza, e, cofirmas, ed;
    return leer(raiz + "checkpoint").then(function (crudo) {
      if (!crudo) { return { estado: "sin-registro" }; }
      cabeza = nota(crudo);
      return Promise.all([leer(dir + "llave_publica.pem", "default"), leer(dir + "MANIFIESTO.sha256", "default", MAX_MANIFIESTO),
                          hayEd25519()]).then(function (r) {
        if (!r[0] || !r[1]) { throw fallo("no se pudieron leer los archivos firmados de este corte"); }
        llave = llavePem(r[0]);
        ed = r[2];
        var firma = ed ? firmadaPorCentral(cabeza, llave) : Promise.resolve();
        return Promise.all([firma, sha256(r[1]), buscar(raiz, corte, cabeza.tamano)]);
      }).then(function (r) {
        e = r[2];
        if (!e) { throw fallo("este corte no está en el registro de " + cabeza.tamano + " cortes"); }
        if (e.manifiesto !== hex(r[1])) {
          throw fallo("la entrada " + e.i + " del registro es este corte con otro manifiesto: el corte fue reemplazado después de publicarse");
        }
        return Promise.all([leer(raiz + "cofirmas/" + (e.i + 1)), leer(raiz + "pruebas/inclusion/" + e.i, "default")]);
      }).then(function (r) {
        if (!r[0] || !r[1]) { throw fallo("faltan la cabeza o la prueba de la entrada " + e.i); }
        cofirmas = nota(r[0]);
        if (cofirmas.origen !== cabeza.origen || cofirmas.tamano !== e.i + 1) {
          throw fallo("cofirmas/" + (e.i + 1) + " no es la cabeza de " + (e.i + 1) + " cortes del registro");
        }
        var prueba = texto(r[1]).split("\n").filter(Boolean).map(b64);
        return Promise.all([ed ? firmadaPorCentral(cofirmas, llave) : Promise.resolve(),
          sha256(unir([new Uint8Array([0]), e.datos])).then(function (hoja) {
            return incluida(hoja, e.i, e.i + 1, prueba, cofirmas.raiz);
          })]);
      }).then(function (r) {
        if (!r[1]) { throw fallo("la prueba de inclusión de la entrada " + e.i + " no corresponde a su cabeza"); }
        return cosignatarios(cofirmas, difusores, ed);
      }).then(function (r) {
        return { estado: "ok", tamano: cabeza.tamano, indice: e.i, validos: r.validos,
                 invalidos: r.invalidos, verificadas: ed };
      });
    });
  };

  function cosignatarios(n, difusores, ed) {
    var porId = {};
    difusores.forEach(function (d) {
      var k = llaveTestigo(d.llave_testigo || "");
      if (k) { porId[k.id] = { difusor: d, llave: k }; }
    });
    var vistos = {};
    var revisiones = n.firmas.filter(function (f) {
      var nuevo = porId[f.nombre] && !vistos[f.nombre];
      vistos[f.nombre] = true;
      return nuevo; // the central's own, unlisted witnesses' and repeated lines don't count
    }).map(function (f) {
      var t = porId[f.nombre];
      return idLlave(f.nombre, COFIRMA, t.llave.llave).then(function (id) {
        if (hex(id) !== t.llave.idHex || !iguales(id, f.id) || f.datos.length !== 72) { return false; }
        if (!ed) { return true; }
        var tiempo = 0;
        for (var j = 0; j < 8; j++) { tiempo = tiempo * 256 + f.datos[j]; }
        var mensaje = bytes("cosignature/v1\ntime " + tiempo + "\n" + n.texto);
        return verificar(t.llave.llave, f.datos.slice(8), mensaje);
      }).then(function (ok) { return { difusor: t.difusor, ok: ok }; });
    });
    return Promise.all(revisiones).then(function (r) {
      return { validos: r.filter(function (x) { return x.ok; }).map(function (x) { return x.difusor; }),
               invalidos: r.filter(function (x) { return !x.ok; }).map(function (x) { return x.difusor; }) };
    });
  }
})();
