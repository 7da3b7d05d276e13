/* The public PREP site: one page, routed by the URL fragment, reading only this corte's
 * data files (datos/*.js, each calling PREP.recibir). Every figure shown is taken as is
 * from those files, which hold the CSV's own values; this script only formats them
 * (thousands separators) and never computes a percentage.
 *
 * Routes:  #/e/<elección>                 entidad
 *          #/e/<elección>/d/<distrito>    distrito
 *          #/e/<elección>/d/<d>/s/<sec>   sección (by its distrito)
 *          #/e/<elección>/m/<alcaldía>    alcaldía (demarcación)
 *          #/e/<elección>/m/<m>/s/<sec>   sección (by its alcaldía)
 *          #/acta/<CLAVE_ACTA>            acta, image and integrity check
 *          #/buscar/<texto>               search by sección, CLAVE_CASILLA or CLAVE_ACTA
 *          #/descargas                    downloads and how to verify them
 *          #/catd                         progress and connection per CATD (AVANCE_CATD.csv)
 *          #/difusores                    the official difusores (DIFUSORES.csv), if any
 *
 * Each page loads only what it shows: the election (e<EE>), a distrito's summaries
 * (e<EE>/d<DDD>), and for a sección or an acta the bloque of secciones holding it
 * (e<EE>/d<DDD>/s<SSSS>: their votes and acta rows; e<EE>/d<DDD>/h<SSSS>: their actas'
 * history), found from secciones.js, which lists where each distrito's bloques start.
 *
 * One corte per page: every data file names its corte (nombre_corte) and the page shows
 * none of another corte than its indice's. Served from a publication directory
 * (<raíz>/<corte>/sitio/ beside latest/ and latest.txt) it reads every file from its own
 * corte's directory, never through latest/, which may move while the reader navigates,
 * and polls latest.txt to offer the newer corte (docs/sitio.md).
 */
(function () {
  "use strict";

  var PREP = (window.PREP = window.PREP || {});
  var datos = {};
  var pendientes = {};
  var indice = null;
  var turno = 0; // the latest navigation; an older one finishing late draws nothing
  var primera = true;

  var TIPOS = {
    B: "Básica", C: "Contigua", E: "Extraordinaria", S: "Especial", A: "Voto anticipado",
    P: "Prisión preventiva", M: "Mexicanos en el extranjero", U: "Urna electrónica"
  };
  var CAMPOS = {
    TOTAL_BOLETAS_SOBRANTES: "Boletas sobrantes",
    TOTAL_PERSONAS_VOTARON: "Personas que votaron",
    TOTAL_REP_PARTIDO_CI_VOTARON: "Representantes de partidos y candidaturas independientes que votaron",
    TOTAL_VOTOS_SACADOS: "Votos sacados de la urna",
    NO_REGISTRADAS: "Candidaturas no registradas",
    NULOS: "Votos nulos",
    TOTAL_VOTOS_ASENTADO: "Total de votos asentado en el acta",
    TOTAL_VOTOS_CALCULADO: "Total de votos calculado"
  };

  /* ---- data files -------------------------------------------------------------- */

  PREP.recibir = function (ruta, contenido) {
    if (indice && contenido.nombre_corte !== indice.nombre_corte) {
      // A file of another corte (read through a moving link): never shown beside this one.
      avisarActualizacion(null);
      if (pendientes[ruta]) {
        pendientes[ruta].reject(new Error("Se publicó un corte nuevo mientras navegaba. Para " +
          "no mezclar cifras de dos cortes, esta página no se muestra: cargue el corte nuevo."));
        delete pendientes[ruta];
      }
      return;
    }
    datos[ruta] = contenido;
    if (pendientes[ruta]) { pendientes[ruta].resolve(contenido); }
  };

  function cargar(ruta) {
    if (datos[ruta]) { return Promise.resolve(datos[ruta]); }
    if (pendientes[ruta]) { return pendientes[ruta].promise; }
    var entrada = {};
    entrada.promise = new Promise(function (resolve, reject) {
      entrada.resolve = resolve;
      entrada.reject = reject;
      var script = document.createElement("script");
      script.src = "datos/" + ruta + ".js";
      script.onerror = function () {
        delete pendientes[ruta];
        script.parentNode.removeChild(script);
        reject(new Error("No se pudieron cargar los datos de este corte (" + ruta +
                         "). Revise su conexión e intente de nuevo."));
      };
      document.head.appendChild(script);
    });
    pendientes[ruta] = entrada;
    return entrada.promise;
  }

  /* ---- one corte per page ---------------------------------------------------- */

  var PUBLICADO = /^(.*\/)(latest|\d{8}_\d{4}(?:_[1-9]\d*)?)\/sitio\/([^\/]*)$/;
  var NOMBRE = /^\d{8}_\d{4}(?:_[1-9]\d*)?$/;
  var INTERVALO = 60000; // how often latest.txt is asked for the newest corte (ms)
  // Served from a publication directory: {raiz, nombre (of the corte read), pagina, leido
  // (nombre came from latest.txt), sinLatest (the server has none: stop asking)}.
  var publicacion = null;
  var avisado = null; // the newer corte offered (true: one of unknown name)

  function leerLatest() {
    return fetch(publicacion.raiz + "latest.txt", { cache: "no-store" }).then(function (r) {
      if (r.status === 404) { publicacion.sinLatest = true; }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.text();
    }).then(function (texto) {
      texto = texto.trim();
      if (!NOMBRE.test(texto)) { throw new Error("latest.txt no nombra un corte"); }
      return texto;
    });
  }

  /* Opened through latest/, the page moves (without reloading) to the directory of the
     corte latest.txt names, so every later file comes from that corte. */
  function fijarCorte() {
    var m = PUBLICADO.exec(location.pathname);
    if (!m || !/^https?:$/.test(location.protocol)) { return Promise.resolve(); }
    publicacion = { raiz: m[1], nombre: m[2], pagina: m[3], leido: false, sinLatest: false };
    if (m[2] !== "latest") { return Promise.resolve(); }
    return leerLatest().then(function (nombre) {
      publicacion.nombre = nombre;
      publicacion.leido = true;
      history.replaceState(history.state, "", m[1] + nombre + "/sitio/" + m[3] +
                           location.search + location.hash);
    }, function () { publicacion = null; }); // the files' corte names still guard the page
  }

  function vigilar() {
    if (!publicacion) { return; }
    var reloj = null;
    var comprobar = function () {
      leerLatest().then(function (nombre) {
        if (nombre !== publicacion.nombre && nombre !== avisado) { avisarActualizacion(nombre); }
      }, function () { // offline for now, the next poll asks again; no latest.txt: stop
        if (publicacion.sinLatest) { window.clearInterval(reloj); }
      });
    };
    reloj = window.setInterval(comprobar, INTERVALO);
    // A corte opened by its own address (a shared or saved link) may be old already.
    if (!publicacion.leido) { comprobar(); }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && !publicacion.sinLatest) { comprobar(); }
    });
  }

  function fechaNombre(nombre) { // 20270607_0805 → 07/06/2027 08:05
    return nombre.slice(6, 8) + "/" + nombre.slice(4, 6) + "/" + nombre.slice(0, 4) + " " +
      nombre.slice(9, 11) + ":" + nombre.slice(11, 13);
  }

  function destinoNuevo() {
    return publicacion.raiz + avisado + "/sitio/" + publicacion.pagina + location.hash;
  }

  /* «Hay una actualización»: a link to the same page in the newer corte, or (a corte of
     unknown name, met in a data file) a button that reloads. */
  function avisarActualizacion(nombre) {
    if (avisado && !nombre) { return; }
    avisado = nombre || true;
    var aviso = document.getElementById("actualizacion");
    var accion;
    if (nombre && publicacion) {
      accion = h("a", { href: destinoNuevo(), id: "actualizar", "class": "boton-secundario",
                        texto: "Ver el corte nuevo" });
    } else {
      accion = h("button", { type: "button", id: "actualizar", texto: "Cargar el corte nuevo" });
      accion.addEventListener("click", function () { location.reload(); });
    }
    vaciar(aviso);
    agregar(aviso, h("div", { "class": "contenedor actualizacion-fila" },
      h("p", null, h("strong", { texto: "Hay una actualización: " }), nombre
        ? "se publicó el corte de información del " + fechaNombre(nombre) +
          " (hora del Centro de México). Esta página sigue mostrando el corte que abrió."
        : "se publicó un corte nuevo. Cárguelo para seguir navegando."), accion));
    aviso.className = "actualizacion";
    document.body.classList.add("con-actualizacion");
  }

  /* ---- formatting ------------------------------------------------------------- */

  function miles(valor) {
    var texto = String(valor);
    return /^\d+$/.test(texto) ? texto.replace(/\B(?=(\d{3})+(?!\d))/g, ",") : texto;
  }

  function porcentaje(valor) { return valor + "%"; }

  function titulo(nombre) {
    var menores = { DE: 1, LA: 1, DEL: 1, Y: 1, EL: 1, LOS: 1, LAS: 1, EN: 1, A: 1 };
    return nombre.split(" ").map(function (p, i) {
      if (i > 0 && menores[p]) { return p.toLowerCase(); }
      if (p.length <= 2 && p === p.toUpperCase() && !menores[p]) { return p; }
      return p.charAt(0) + p.slice(1).toLowerCase();
    }).join(" ");
  }

  function casillaTexto(tipo, id, ext) {
    var texto = (TIPOS[tipo] || tipo) + " " + Number(id);
    return Number(ext) > 0 ? texto + " contigua " + Number(ext) : texto;
  }

  function resumen(valores, columna) {
    return valores[indice.resumen_columnas.indexOf(columna)];
  }

  function eleccion(codigo) {
    for (var i = 0; i < indice.elecciones.length; i++) {
      if (indice.elecciones[i].codigo === codigo) { return indice.elecciones[i]; }
    }
    return null;
  }

  function distritoNombre(id) {
    for (var i = 0; i < indice.distritos.length; i++) {
      if (indice.distritos[i].id === id) { return indice.distritos[i].cabecera; }
    }
    return "";
  }

  /* ---- DOM ------------------------------------------------------------------- */

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) { return; }
        if (k === "texto") { el.textContent = attrs[k]; } else { el.setAttribute(k, attrs[k]); }
      });
    }
    for (var i = 2; i < arguments.length; i++) { agregar(el, arguments[i]); }
    return el;
  }

  function agregar(el, hijo) {
    if (hijo === null || hijo === undefined || hijo === false) { return; }
    if (Array.isArray(hijo)) { hijo.forEach(function (x) { agregar(el, x); }); return; }
    el.appendChild(typeof hijo === "string" ? document.createTextNode(hijo) : hijo);
  }

  function vaciar(el) { while (el.firstChild) { el.removeChild(el.firstChild); } }

  function tabla(titulo, encabezados, filas, numericas, atributosFila) {
    var thead = h("thead", null, h("tr", null, encabezados.map(function (t, i) {
      return h("th", { scope: "col", "class": numericas[i] ? "num" : null, texto: t });
    })));
    var tbody = h("tbody", null, filas.map(function (fila, k) {
      return h("tr", atributosFila ? atributosFila(k) : null, fila.map(function (celda, i) {
        var attrs = { "class": numericas[i] ? "num" : null };
        return i === 0 ? h("th", { scope: "row" }, celda) : h("td", attrs, celda);
      }));
    }));
    return h("div", { "class": "tabla-desplazable", tabindex: "0", role: "region",
                      "aria-label": titulo },
             h("table", null, h("caption", { texto: titulo }), thead, tbody));
  }

  function migas(elementos) {
    return h("nav", { "class": "migas", "aria-label": "Ubicación" }, h("ol", null,
      elementos.map(function (e, i) {
        var ultimo = i === elementos.length - 1;
        return h("li", null, ultimo ? h("span", { "aria-current": "page", texto: e[0] })
                                    : h("a", { href: e[1], texto: e[0] }));
      })));
  }

  /* ---- the summary header (as in the national PREP) ------------------------------ */

  function tarjeta(etiqueta, campo, valores, campoPct, clase) {
    return h("div", { "class": "tarjeta" + (clase ? " " + clase : "") },
      h("dt", { texto: etiqueta }),
      h("dd", null,
        campo ? h("span", { "class": "cifra", "data-campo": campo,
                            texto: miles(resumen(valores, campo)) }) : null,
        campoPct ? h("span", { "class": campo ? "cifra-pct" : "cifra", "data-campo": campoPct,
                               texto: porcentaje(resumen(valores, campoPct)) }) : null));
  }

  function seccionResumen(valores, entidad) {
    var avance = h("span", { "class": "avance-relleno" });
    avance.style.width = resumen(valores, "PORCENTAJE_ACTAS_CONTABILIZADAS") + "%";
    var detalle = [
      ["Actas registradas", "ACTAS_REGISTRADAS"],
      ["Actas no contabilizadas", "ACTAS_NO_CONTABILIZADAS"],
      ["Actas con inconsistencias", "PORCENTAJE_ACTAS_INCONSISTENCIAS", true],
      ["Total de votos con casillas especiales", "TOTAL_VOTOS_C_CS"],
      ["Total de votos sin casillas especiales", "TOTAL_VOTOS_S_CS"]
    ];
    if (entidad) { detalle.splice(1, 0, ["Actas fuera de catálogo", "ACTAS_FUERA_CATALOGO"]); }
    return h("section", { "class": "bloque resumen", "aria-labelledby": "t-resumen" },
      h("h2", { id: "t-resumen", texto: "Avance del conteo" }),
      h("dl", { "class": "tarjetas" },
        tarjeta("Actas esperadas", "ACTAS_ESPERADAS", valores),
        tarjeta("Actas capturadas", "ACTAS_CAPTURADAS", valores, "PORCENTAJE_ACTAS_CAPTURADAS"),
        tarjeta("Actas contabilizadas", "ACTAS_CONTABILIZADAS", valores,
                "PORCENTAJE_ACTAS_CONTABILIZADAS"),
        tarjeta("Participación ciudadana", null, valores, "PORCENTAJE_PARTICIPACION_CIUDADANA",
                "destacada"),
        tarjeta("Lista nominal de las actas contabilizadas", "LISTA_NOMINAL_ACTAS_CONTABILIZADAS",
                valores)),
      entidad && indice.nota_participacion ?
        h("p", { "class": "nota-participacion", texto: indice.nota_participacion }) : null,
      h("div", { "class": "avance", role: "img", "aria-label": "Actas contabilizadas: " +
                 porcentaje(resumen(valores, "PORCENTAJE_ACTAS_CONTABILIZADAS")) }, avance),
      h("dl", { "class": "detalle" }, detalle.map(function (d) {
        var v = resumen(valores, d[1]);
        return h("div", null, h("dt", { texto: d[0] }),
                 h("dd", { "data-campo": d[1], texto: d[2] ? porcentaje(v) : miles(v) }));
      })));
  }

  /* How many actas carry each OBSERVACIONES value (the LEEME defines each one). */
  function tablaObservaciones(observaciones) {
    if (!observaciones || !observaciones.length) { return null; }
    return h("section", { "class": "bloque", "aria-labelledby": "t-observaciones" },
      h("h2", { id: "t-observaciones", texto: "Actas con observaciones" }),
      tabla("Actas por observación (la descripción de cada una está en el LEEME)",
            ["Observación", "Actas"],
            observaciones.map(function (o) { return [o[0], miles(String(o[1]))]; }),
            [false, true]));
  }

  function avanceCeldas(valores) {
    return [
      miles(resumen(valores, "ACTAS_ESPERADAS")),
      miles(resumen(valores, "ACTAS_CAPTURADAS")) + " (" +
        porcentaje(resumen(valores, "PORCENTAJE_ACTAS_CAPTURADAS")) + ")",
      miles(resumen(valores, "ACTAS_CONTABILIZADAS")) + " (" +
        porcentaje(resumen(valores, "PORCENTAJE_ACTAS_CONTABILIZADAS")) + ")",
      porcentaje(resumen(valores, "PORCENTAJE_PARTICIPACION_CIUDADANA"))
    ];
  }

  /* ---- views ----------------------------------------------------------------- */

  function encabezado(texto, subtitulo) {
    return [h("h1", { tabindex: "-1", texto: texto }),
            subtitulo ? h("p", { "class": "subtitulo", texto: subtitulo }) : null];
  }

  function demarcacion() { return indice.demarcacion.singular; }

  function demarcacionNombre(id) {
    for (var i = 0; i < indice.demarcaciones.length; i++) {
      if (indice.demarcaciones[i].id === id) { return titulo(indice.demarcaciones[i].nombre); }
    }
    return String(id);
  }

  function enlacesDemarcaciones(codigo, ids) {
    return ids.map(function (m, i) {
      return [i ? ", " : "", h("a", { href: "#/e/" + codigo + "/m/" + m,
                                       texto: demarcacion() + " " + demarcacionNombre(m) })];
    });
  }

  function enlacesDistritos(codigo, ids) {
    return ids.map(function (d, i) {
      return [i ? ", " : "", h("a", { href: "#/e/" + codigo + "/d/" + d, texto: "Distrito " + d })];
    });
  }

  /* The votes of an area inside one contest, or its contests when it spans several.
   * ``propia`` is true when the area is the contest itself (or the entidad). */
  function votosOContiendas(e, area, valores, zona) {
    if (area.contienda === undefined) {
      return PREP.votos.tablaContiendas(e, area.contiendas,
        (e.ambito === "distrito" ? "Distritos" : indice.demarcacion.plural) + " con actas en " + zona,
        "Cada una es una contienda distinta y sus votos no se suman. «Encabeza» es la " +
        "candidatura con más votos en las actas contabilizadas de toda la contienda; sus " +
        "resultados están en su página.");
    }
    var nota;
    if (e.ambito === "entidad") {
      nota = "Suma de las actas contabilizadas de " + zona + ".";
    } else if (area.propia) {
      nota = "Resultado de la contienda: suma de sus actas contabilizadas.";
    } else {
      nota = ["Actas contabilizadas de " + zona + ", que es parte de la contienda de ",
              h("a", { href: PREP.votos.rutaContienda(e, area.contienda),
                       texto: PREP.votos.nombreContienda(e, area.contienda) }),
              " (su resultado está en su página)."];
    }
    return PREP.votos.bloque(e, area, valores, nota);
  }

  function tablaNivel(codigo, e, lista, distritos) {
    var filas = lista.map(function (x) {
      var enlace = distritos ? h("a", { href: "#/e/" + codigo + "/d/" + x.id, texto: "Distrito " + x.id })
                             : h("a", { href: "#/e/" + codigo + "/m/" + x.id,
                                        texto: titulo(x.nombre) });
      return [enlace].concat(distritos ? [titulo(x.cabecera)] : [], avanceCeldas(x.resumen));
    });
    var cols = ["Actas esperadas", "Actas capturadas", "Actas contabilizadas", "Participación ciudadana"];
    return h("section", { "class": "bloque" },
      h("h2", { texto: distritos ? "Resultados por distrito" : "Resultados por " + demarcacion().toLowerCase() }),
      tabla(distritos ? "Avance por distrito local" : "Avance por " + demarcacion().toLowerCase(),
            (distritos ? ["Distrito", "Cabecera"] : [demarcacion()]).concat(cols), filas,
            (distritos ? [false, false] : [false]).concat([true, true, true, true])));
  }

  function vistaEntidad(codigo) {
    return cargar("e" + codigo).then(function (e) {
      var nodos = [migas([[titulo(indice.entidad), ""]]),
        encabezado(titulo(e.nombre), titulo(indice.entidad) + " · Resultados de la entidad"),
        seccionResumen(e.resumen, true), tablaObservaciones(e.observaciones)];
      if (e.ambito === "entidad") {
        nodos.push(votosOContiendas(e, e, e.resumen, "toda la entidad"),
                   tablaNivel(codigo, e, e.distritos, true), tablaNivel(codigo, e, e.demarcaciones, false));
      } else {
        var porDistrito = e.ambito === "distrito";
        var plural = porDistrito ? "distrito" : demarcacion().toLowerCase();
        // One contest only (a small catalog): its line, its page has the votes.
        nodos.push(PREP.votos.tablaContiendas(e, e.contiendas || [e.contienda],
            "Resultados por " + plural + ": una contienda en cada " + plural,
            "En esta elección cada " + plural + " elige a su propia candidatura, así que no hay " +
            "un resultado de toda la entidad: los votos de distintas contiendas no se suman. " +
            "«Encabeza» es la candidatura con más votos en las actas contabilizadas de la " +
            "contienda; su página tiene los votos por partido y por candidatura."),
          tablaNivel(codigo, e, porDistrito ? e.demarcaciones : e.distritos, !porDistrito));
      }
      if (e.mesas && e.mesas.actas.length) { nodos.push(tablaMesas(e)); }
      return { titulo: titulo(e.nombre), eleccion: codigo, nodos: nodos };
    });
  }

  /* Where a mesa's votes count: the contest of the election (DOMAIN.md: a mesa of voto
     anticipado, prisión preventiva or en el extranjero belongs to no sección). */
  function contiendaMesa(e, distrito, m) {
    if (e.ambito === "distrito") { return "Distrito " + distrito; }
    if (e.ambito === "demarcacion") { return demarcacion() + " " + demarcacionNombre(m); }
    return "Toda la entidad";
  }

  function tablaMesas(e) {
    var filas = e.mesas.actas.map(function (a) {
      return [h("a", { href: "#/acta/" + a[0], texto: a[0] }), TIPOS[a[1]] || a[1],
              contiendaMesa(e, a[2], a[3])];
    });
    var nodos = [h("h2", { texto: "Mesas de voto anticipado, prisión preventiva y en el extranjero" }),
      h("p", { "class": "nota", texto: "Estas mesas no pertenecen a ninguna sección: sus votos " +
               "cuentan en el resultado de " + (e.ambito === "entidad" ? "la entidad"
               : "su " + (e.ambito === "distrito" ? "distrito" : demarcacion().toLowerCase())) +
               ", no en el de las secciones" + (e.ambito === "entidad"
               ? ", distritos ni " + demarcacion().toLowerCase() + "s." : ".") }),
      tabla("Actas de las mesas", ["Clave de acta", "Tipo", "Sus votos cuentan en"], filas,
            [false, false, false])];
    if (e.mesas.resumen) { nodos.splice(2, 0, avanceMesas(e.mesas.resumen)); }
    return h("section", { "class": "bloque", id: "mesas" }, nodos);
  }

  function avanceMesas(r) {
    return tabla("Avance de las mesas", ["Actas esperadas", "Actas capturadas",
                 "Actas contabilizadas", "Participación ciudadana"], [avanceCeldas(r)],
                 [true, true, true, true]);
  }

  function vistaDistrito(codigo, id) {
    return Promise.all([cargar("e" + codigo), cargarDistrito(codigo, id)]).then(function (r) {
      var e = r[0], d = r[1];
      d.propia = e.ambito === "distrito";
      var filas = d.secciones.map(function (s) {
        return [h("a", { href: "#/e/" + codigo + "/d/" + id + "/s/" + s.seccion,
                         texto: "Sección " + s.seccion })].concat(avanceCeldas(s.resumen));
      });
      return {
        titulo: titulo(e.nombre) + " · Distrito " + id, eleccion: codigo,
        nodos: [migas([[titulo(indice.entidad), "#/e/" + codigo], ["Distrito " + id, ""]]),
          encabezado(titulo(e.nombre) + " · Distrito " + id,
                     "Distrito local " + id + " · Cabecera: " + titulo(d.cabecera)),
          h("p", { "class": "ubicacion" }, indice.demarcacion.plural + " con casillas en este distrito: ",
            enlacesDemarcaciones(codigo, d.demarcaciones)),
          seccionResumen(d.resumen, false),
          votosOContiendas(e, d, d.resumen, "este distrito"),
          h("section", { "class": "bloque" }, h("h2", { texto: "Resultados por sección" }),
            tabla("Avance por sección del distrito " + id, ["Sección", "Actas esperadas",
                  "Actas capturadas", "Actas contabilizadas", "Participación ciudadana"],
                  filas, [false, true, true, true, true]))]
      };
    });
  }

  function cargarDistrito(codigo, id) {
    return cargar("e" + codigo + "/d" + tres(id));
  }

  function cargarDemarcacion(codigo, id) {
    return cargar("e" + codigo + "/m" + tres(id));
  }

  function vistaDemarcacion(codigo, id) {
    return Promise.all([cargar("e" + codigo), cargarDemarcacion(codigo, id)]).then(function (r) {
      var e = r[0], m = r[1];
      m.propia = e.ambito === "demarcacion";
      var nombre = demarcacion() + " " + titulo(m.nombre);
      var filas = m.secciones.map(function (s) {
        return [h("a", { href: "#/e/" + codigo + "/m/" + id + "/s/" + s.seccion,
                         texto: "Sección " + s.seccion })].concat(avanceCeldas(s.resumen));
      });
      return {
        titulo: titulo(e.nombre) + " · " + nombre, eleccion: codigo,
        nodos: [migas([[titulo(indice.entidad), "#/e/" + codigo], [nombre, ""]]),
          encabezado(titulo(e.nombre) + " · " + nombre, nombre + " · " + titulo(indice.entidad)),
          h("p", { "class": "ubicacion" }, "Distritos locales con casillas en esta " +
            demarcacion().toLowerCase() + ": ", enlacesDistritos(codigo, m.distritos)),
          seccionResumen(m.resumen, false),
          votosOContiendas(e, m, m.resumen, "esta " + demarcacion().toLowerCase()),
          h("section", { "class": "bloque" }, h("h2", { texto: "Resultados por sección" }),
            tabla("Avance por sección de " + nombre, ["Sección", "Actas esperadas",
                  "Actas capturadas", "Actas contabilizadas", "Participación ciudadana"],
                  filas, [false, true, true, true, true]))]
      };
    });
  }

  function columna(d, nombre) { return d.columnas.indexOf(nombre); }

  function tres(n) { return ("00" + n).slice(-3); }

  /* The bloque of secciones of distrito ``id`` holding ``seccion`` (its votes and acta
     rows): the last bloque of the distrito starting at or before it (secciones.js). */
  function inicioBloque(id, seccion) {
    return cargar("secciones").then(function (sec) {
      var inicios = sec.bloques[String(id)] || [];
      var inicio = null;
      for (var i = 0; i < inicios.length && inicios[i] <= seccion; i++) { inicio = inicios[i]; }
      if (inicio === null) { throw new Error("La sección " + seccion + " no está en el distrito " + id + "."); }
      return inicio;
    });
  }

  function cargarBloque(codigo, id, seccion) {
    return inicioBloque(id, seccion).then(function (inicio) {
      return cargar("e" + codigo + "/d" + tres(id) + "/s" + ("000" + inicio).slice(-4));
    });
  }

  function seccionDe(b, seccion) {
    return b.secciones.filter(function (x) { return x.seccion === seccion; })[0];
  }

  function actasDe(b, seccion) {
    var cs = columna(b, "SECCION");
    return b.actas.filter(function (a) { return a[cs] === String(seccion); });
  }

  function vistaSeccion(codigo, id, seccion) {
    return Promise.all([cargar("e" + codigo), cargarDistrito(codigo, id)]).then(function (r) {
      var e = r[0], d = r[1];
      if (!seccionDe(d, seccion)) {
        return noEncontrado("La sección " + seccion + " no pertenece al distrito " + id + ".");
      }
      return cargarBloque(codigo, id, seccion).then(function (b) {
        var s = seccionDe(b, seccion);
        return paginaSeccion(e, s, b, actasDe(b, seccion),
          [["Distrito " + id, "#/e/" + codigo + "/d/" + id]],
          "Distrito local " + id + " (" + titulo(d.cabecera) + ") · " + demarcacionesTexto(s.demarcaciones));
      });
    });
  }

  function demarcacionesTexto(ids) {
    return ids.map(function (m) { return demarcacion() + " " + demarcacionNombre(m); }).join(", ");
  }

  function vistaSeccionDemarcacion(codigo, id, seccion) {
    return Promise.all([cargar("e" + codigo), cargarDemarcacion(codigo, id)]).then(function (r) {
      var e = r[0], m = r[1];
      var s = m.secciones.filter(function (x) { return x.seccion === seccion; })[0];
      if (!s) {
        return noEncontrado("La sección " + seccion + " no pertenece a " + demarcacion().toLowerCase() +
                            " " + titulo(m.nombre) + ".");
      }
      return Promise.all(s.distritos.map(function (d) { return cargarBloque(codigo, d, seccion); }))
        .then(function (bs) {
          var actas = [];
          bs.forEach(function (b) {
            var cm = columna(b, "ID_DEMARCACION");
            actas = actas.concat(actasDe(b, seccion).filter(function (a) { return a[cm] === String(id); }));
          });
          var nombre = demarcacion() + " " + titulo(m.nombre);
          // Else the same area as in the bloque of its only distrito.
          var area = !s.en_distrito ? s : seccionDe(bs[0], seccion);
          return paginaSeccion(e, area, bs[0], actas, [[nombre, "#/e/" + codigo + "/m/" + id]],
            nombre + " · Distrito local " + s.distritos.join(", "));
        });
    });
  }

  function paginaSeccion(e, s, d, actas, camino, subtitulo) {
    var c = function (n) { return columna(d, n); };
    var filas = actas.map(function (a) {
      return [h("a", { href: "#/acta/" + a[c("CLAVE_ACTA")],
                       texto: casillaTexto(a[c("TIPO_CASILLA")], a[c("ID_CASILLA")], a[c("EXT_CONTIGUA")]) }),
              a[c("CLAVE_ACTA")], miles(a[c("LISTA_NOMINAL")]),
              miles(a[c("TOTAL_VOTOS_CALCULADO")]), a[c("OBSERVACIONES")],
              estadoCorto(a[c("CONTABILIZADA")])];
    });
    var seccion = s.seccion, codigo = e.codigo;
    return {
      titulo: titulo(e.nombre) + " · Sección " + seccion, eleccion: codigo,
      nodos: [migas([[titulo(indice.entidad), "#/e/" + codigo]].concat(camino, [["Sección " + seccion, ""]])),
        encabezado(titulo(e.nombre) + " · Sección " + seccion, subtitulo),
        seccionResumen(s.resumen, false),
        votosOContiendas(e, s, s.resumen, "esta sección"),
        h("section", { "class": "bloque" }, h("h2", { texto: "Casillas" }),
          tabla("Actas de las casillas de la sección " + seccion, ["Casilla", "Clave de acta",
                "Lista nominal", "Total de votos", "Observaciones", "Contabilizada"],
                filas, [false, false, true, true, false, false]))]
    };
  }

  function estadoCorto(valor) {
    return valor === "1" ? "Sí" : valor === "0" ? "No" : "Pendiente";
  }

  function ubicarActa(clave) {
    return cargar("secciones").then(function (datosSecciones) {
      var sec = datosSecciones.distritos;
      var seccion = Number(clave.slice(2, 6));
      var distritos = Object.keys(sec).filter(function (d) {
        return sec[d].some(function (r) { return r[0] <= seccion && seccion <= r[1]; });
      });
      return distritos.map(Number);
    });
  }

  function vistaActa(clave) {
    var codigo = clave.slice(-2);
    var e0 = eleccion(codigo);
    if (!/^\d{6}[A-Z]\d{6}$/.test(clave) || !e0) {
      return Promise.resolve(noEncontrado("«" + clave + "» no es una clave de acta de este corte."));
    }
    var seccion = Number(clave.slice(2, 6));
    return ubicarActa(clave).then(function (distritos) {
      return Promise.all([cargar("e" + codigo)].concat(distritos.map(function (id) {
        return cargarBloque(codigo, id, seccion);
      }))).then(function (r) {
        for (var i = 1; i < r.length; i++) {
          var d = r[i], k = columna(d, "CLAVE_ACTA");
          for (var j = 0; j < d.actas.length; j++) {
            if (d.actas[j][k] === clave) { return conHistorial(r[0], d, d.actas[j], clave); }
          }
        }
        return noEncontrado("No hay un acta con la clave " + clave + " en este corte.");
      });
    });
  }

  /* MECANISMOS_TRASLADO as published (Anexo 18.5's codes, N/A: no mechanism;
     prep.corte.anexo.traslado_publicado, LEEME) as a citizen reads them. */
  var TRASLADOS = {
    F: "Centro de Recepción y Traslado fijo",
    I: "Centro de Recepción y Traslado itinerante",
    D: "Dispositivo de Apoyo para el Traslado",
    "N/A": "Sin mecanismo de traslado"
  };

  function traslado(codigo) {
    return TRASLADOS[codigo] ? codigo + " · " + TRASLADOS[codigo] : codigo;
  }

  /* The acta's timeline (HISTORIAL.csv's rows), from its bloque's history file; a
     corte without one (no HISTORIAL.csv) shows the page without it. */
  function conHistorial(e, b, fila, clave) {
    return cargar("e" + e.codigo + "/d" + tres(b.distrito) + "/h" + ("000" + b.bloque).slice(-4))
      .then(function (hh) {
        return paginaActa(e, b, fila, hh, hh.actas[clave] || []);
      }, function () { return paginaActa(e, b, fila, null, []); });
  }

  var EVENTOS = {
    ACOPIO: "Acopio", SIN_ACTA: "Registro sin acta", DIGITALIZACION: "Digitalización",
    CAPTURA: "Captura", CORRECCION: "Corrección", VERIFICACION: "Verificación",
    VALIDACION: "Datos validados", COTEJO: "Cotejo", PUBLICACION: "Publicación",
    CORRECCION_PUBLICADA: "Corrección publicada"
  };

  function historialActa(hh, eventos) {
    if (!hh) { return []; }
    var c = function (ev, n) { return ev[hh.columnas.indexOf(n)]; };
    var items = eventos.map(function (ev) {
      var partes = [];
      if (c(ev, "CATD") === "CCV") { partes.push("Centro de captura y verificación"); }
      else if (c(ev, "CATD")) { partes.push("CATD " + c(ev, "CATD")); }
      if (c(ev, "RONDA")) { partes.push("ronda " + c(ev, "RONDA")); }
      if (c(ev, "IMAGEN")) { partes.push("imagen " + c(ev, "IMAGEN")); }
      if (c(ev, "ORIGEN")) { partes.push("origen " + c(ev, "ORIGEN")); }
      if (c(ev, "DIGITALIZACION")) { partes.push(c(ev, "DIGITALIZACION")); }
      var detalle = c(ev, "DETALLE");
      if (c(ev, "EVENTO") === "PUBLICACION") { detalle = "Publicada por primera vez en el corte " + detalle; }
      if (c(ev, "EVENTO") === "CORRECCION_PUBLICADA") { detalle = "Publicada en el corte " + detalle; }
      var nodos = [h("span", { "class": "hist-fecha", "data-historial": "FECHA_HORA", texto: c(ev, "FECHA_HORA") }),
        h("strong", { "data-historial": "EVENTO", "data-evento": c(ev, "EVENTO"),
                      texto: EVENTOS[c(ev, "EVENTO")] || c(ev, "EVENTO") })];
      if (partes.length) { nodos.push(h("span", { "class": "hist-donde", "data-historial": "DONDE", texto: partes.join(" · ") })); }
      if (detalle) { nodos.push(h("span", { "class": "hist-detalle", "data-historial": "DETALLE", texto: detalle })); }
      if (c(ev, "CODIGO_INTEGRIDAD")) {
        nodos.push(h("code", { "class": "hist-sha", "data-historial": "CODIGO_INTEGRIDAD",
                               texto: c(ev, "CODIGO_INTEGRIDAD") }));
      }
      return h("li", { "class": "hist-evento" }, nodos);
    });
    return [h("section", { "class": "historial", id: "historial", "aria-labelledby": "historial-titulo" },
      h("h3", { id: "historial-titulo", texto: "Historial del acta" }),
      eventos.length
        ? h("ol", { "class": "hist-lista" }, items)
        : h("p", { texto: "Esta acta aún no tiene historial publicado en este corte." }),
      h("p", { "class": "nota", texto: "Cada paso con la fecha y hora del equipo que lo registró " +
               "(hora del centro de la Ciudad de México). Los mismos datos están en HISTORIAL.csv." }))];
  }

  function paginaActa(e, d, fila, hh, eventos) {
    var v = function (n) { return fila[columna(d, n)]; };
    var clave = v("CLAVE_ACTA"), seccion = v("SECCION");
    var casilla = casillaTexto(v("TIPO_CASILLA"), v("ID_CASILLA"), v("EXT_CONTIGUA"));
    var nombres = {};
    e.asociaciones.forEach(function (a) { nombres[a.clave] = a.nombre; });
    var capturados = e.campos.filter(function (campo) { return v(campo) !== "N/A"; })
      .map(function (campo) {
        return [CAMPOS[campo] || nombres[campo] || campo, h("span", { "data-campo": campo,
                texto: miles(v(campo)) })];
      });
    capturados.push([CAMPOS.TOTAL_VOTOS_CALCULADO, h("span", {
      "data-campo": "TOTAL_VOTOS_CALCULADO", texto: miles(v("TOTAL_VOTOS_CALCULADO")) })]);
    var generales = [
      ["Clave de casilla", v("CLAVE_CASILLA")], ["Clave de acta", clave],
      ["Lista nominal", miles(v("LISTA_NOMINAL"))],
      ["Representantes de partidos y candidaturas independientes", miles(v("REPRESENTANTES_PP_CI"))],
      ["Ubicación", v("UBICACION_CASILLA") === "1" ? "Urbana" : v("UBICACION_CASILLA") === "2" ? "No urbana" : v("UBICACION_CASILLA")],
      ["Observaciones", v("OBSERVACIONES")], ["Contabilizada", estadoCorto(v("CONTABILIZADA"))],
      ["Mecanismo de traslado", traslado(v("MECANISMOS_TRASLADO"))],
      ["Fecha y hora de acopio", v("FECHA_HORA_ACOPIO")],
      ["Fecha y hora de captura", v("FECHA_HORA_CAPTURA")],
      ["Fecha y hora de verificación", v("FECHA_HORA_VERIFICACION")],
      ["Origen de la imagen", v("ORIGEN")], ["Digitalización", v("DIGITALIZACION")],
      ["Tipo de acta", v("TIPO_ACTA")], ["Documento del que se capturó", v("TIPO_DOCUMENTO")],
      ["Cotejada", estadoCorto(v("COTEJADA"))]
    ];
    var codigo = e.codigo, id = d.distrito, m = Number(v("ID_DEMARCACION"));
    // An election per alcaldía goes up through its alcaldía; the others through the distrito.
    var arriba = e.ambito === "demarcacion"
      ? [demarcacion() + " " + demarcacionNombre(m), "#/e/" + codigo + "/m/" + m]
      : ["Distrito " + id, "#/e/" + codigo + "/d/" + id];
    var camino = [[titulo(indice.entidad), "#/e/" + codigo], arriba,
                  ["Sección " + seccion, arriba[1] + "/s/" + seccion], [casilla, ""]];
    var subtitulo = "Sección " + seccion + " · Casilla " + casilla + " · Distrito " + id + " (" +
      titulo(distritoNombre(id)) + ") · " + demarcacion() + " " + demarcacionNombre(m);
    if (seccion === "N/A") {  // a mesa: in no sección, counted in its contest only
      camino = [[titulo(indice.entidad), "#/e/" + codigo]].concat(
        e.ambito === "entidad" ? [] : [arriba], [[casilla, ""]]);
      subtitulo = casilla + " · no pertenece a ninguna sección · sus votos cuentan en: " +
        contiendaMesa(e, id, Number(v("ID_DEMARCACION")) || 0);
    }
    return {
      titulo: "Acta " + clave, eleccion: codigo,
      nodos: [migas(camino),
        encabezado("Acta de " + titulo(e.nombre), subtitulo),
        estadoActa(v("CONTABILIZADA"), v("OBSERVACIONES")),
        h("div", { "class": "acta-rejilla" },
          h("div", { "class": "acta-imagen" }, imagenActa(clave, v("IMAGEN"), v("CODIGO_INTEGRIDAD"))),
          h("div", { "class": "acta-datos" },
            tabla("Datos capturados del acta", ["Campo", "Valor"], capturados, [false, true]),
            tabla("Datos de la casilla y del proceso", ["Dato", "Valor"], generales,
                  [false, false])))].concat(historialActa(hh, eventos))
    };
  }

  function estadoActa(contabilizada, observaciones) {
    var texto, clase;
    if (contabilizada === "1") {
      texto = "Acta contabilizada" + (observaciones !== "-" ? " · " + observaciones : "");
      clase = "ok";
    } else if (contabilizada === "0") {
      texto = "Acta no contabilizada · " + observaciones;
      clase = "alerta";
    } else {
      texto = "Esta acta aún no tiene datos publicados en este corte.";
      clase = "neutro";
    }
    return h("p", { "class": "estado-acta " + clase, texto: texto });
  }

  function imagenActa(clave, src, sha) {
    if (!src) {
      return h("div", { "class": "sin-imagen" },
        h("p", { texto: "No hay imagen publicada de esta acta en este corte." }));
    }
    var estado = h("p", { "class": "verificacion", role: "status", id: "resultado-verificacion" });
    var boton = h("button", { type: "button", id: "verificar", texto: "Verificar la imagen" });
    boton.addEventListener("click", function () {
      boton.disabled = true;
      mostrarVerificacion(estado, null, "Calculando el código de la imagen…");
      fetch(src, { cache: "no-store" }).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.arrayBuffer();
      }).then(window.PREP_SHA256.hex).then(function (calculado) {
        mostrarVerificacion(estado, calculado === sha, calculado);
      }).catch(function (err) {
        mostrarVerificacion(estado, null, "No se pudo descargar la imagen para verificarla (" +
          err.message + "). Si abrió el sitio desde su disco, descargue la imagen y use " +
          "«Verificar una imagen descargada».");
      }).then(function () { boton.disabled = false; });
    });
    var archivo = h("input", { type: "file", id: "archivo-imagen", accept: "image/*" });
    archivo.addEventListener("change", function () {
      var f = archivo.files && archivo.files[0];
      if (!f) { return; }
      f.arrayBuffer().then(window.PREP_SHA256.hex).then(function (calculado) {
        mostrarVerificacion(estado, calculado === sha, calculado);
      });
    });
    return [
      h("figure", null,
        h("a", { href: src, "class": "imagen-enlace", title: "Abrir la imagen completa" },
          h("img", { src: src, alt: "Imagen del acta " + clave, loading: "lazy" })),
        h("figcaption", { texto: "Imagen del acta " + clave })),
      h("section", { "class": "integridad", "aria-labelledby": "t-integridad" },
        h("h2", { id: "t-integridad", texto: "Código de integridad (SHA-256)" }),
        h("p", { texto: "Es la huella de la imagen publicada: si la imagen cambiara en un solo punto, el código sería otro." }),
        h("code", { "class": "hash", id: "hash-publicado", texto: sha }),
        h("div", { "class": "acciones" }, boton,
          h("a", { href: src, download: "", "class": "boton-secundario", texto: "Descargar la imagen" })),
        estado,
        h("details", null, h("summary", { texto: "Verificar una imagen descargada" }),
          h("label", { "for": "archivo-imagen", texto: "Elija el archivo de la imagen de esta acta:" }),
          archivo))
    ];
  }

  function mostrarVerificacion(el, coincide, texto) {
    vaciar(el);
    el.className = "verificacion" + (coincide === true ? " ok" : coincide === false ? " error" : "");
    if (coincide === null) { el.textContent = texto; return; }
    agregar(el, [
      h("strong", { texto: coincide ? "✓ El código de integridad coincide." : "✗ El código de integridad no coincide." }),
      " " + (coincide ? "La imagen es la misma que se publicó con esta acta."
                      : "La imagen obtenida no es la que se publicó con esta acta."),
      h("br"), "Código calculado: ", h("code", { "class": "hash", texto: texto })
    ]);
  }

  function vistaBuscar(texto) {
    var q = texto.replace(/['\s]/g, "").toUpperCase();
    var ent = ("0" + indice.id_entidad).slice(-2);
    if (/^\d{6}[A-Z]\d{6}$/.test(q) && q.slice(0, 2) === ent) {
      location.replace("#/acta/" + q);
      return Promise.resolve(null);
    }
    var casilla = /^\d{6}[A-Z]\d{4}$/.test(q) && q.slice(0, 2) === ent ? q : null;
    var seccion = /^\d{1,4}$/.test(q) ? Number(q) : casilla ? Number(q.slice(2, 6)) : null;
    if (seccion === null) {
      return Promise.resolve(resultadoBusqueda(texto, [h("p", { texto:
        "Escriba un número de sección (por ejemplo 123), una clave de casilla (11 caracteres, " +
        "por ejemplo " + ent + "0123B0100) o una clave de acta (13 caracteres, por ejemplo " +
        ent + "0123B010001)." })]));
    }
    return ubicarActa(ent + ("000" + seccion).slice(-4)).then(function (distritos) {
      if (!distritos.length) {
        return resultadoBusqueda(texto, [h("p", { texto: "No hay una sección " + seccion +
                                                  " en el catálogo de este proceso." })]);
      }
      var enlaces = [];
      indice.elecciones.forEach(function (e) {
        distritos.forEach(function (id) {
          enlaces.push(h("li", null, casilla
            ? h("a", { href: "#/acta/" + casilla + e.codigo, texto: titulo(e.nombre) + " · Casilla " + casilla })
            : h("a", { href: "#/e/" + e.codigo + "/d/" + id + "/s/" + seccion,
                       texto: titulo(e.nombre) + " · Distrito " + id + " · Sección " + seccion })));
        });
      });
      return resultadoBusqueda(texto, [h("ul", { "class": "resultados" }, enlaces)]);
    });
  }

  function resultadoBusqueda(texto, nodos) {
    return { titulo: "Búsqueda", nodos: [encabezado("Resultados de la búsqueda", "Buscó: " + texto), nodos] };
  }

  function vistaDescargas() {
    var lista = indice.descargas.map(function (d) {
      return h("li", null, h("a", { href: "../" + d.archivo, download: "", texto: d.titulo }),
               " ", h("span", { "class": "archivo", texto: d.archivo }));
    });
    return Promise.resolve({
      titulo: "Descargas y verificación",
      nodos: [encabezado("Descargas y verificación", "Corte de información: " + indice.corte),
        h("section", { "class": "bloque" }, h("h2", { texto: "Base de datos de este corte" }),
          h("p", { texto: "Los archivos CSV contienen una fila por acta con los mismos datos que muestra este sitio. El archivo LEEME describe cada columna." }),
          h("ul", { "class": "descargas" }, lista)),
        h("section", { "class": "bloque" }, h("h2", { texto: "Cómo verificar los archivos y las imágenes" }),
          h("p", { texto: "El archivo MANIFIESTO.sha256 lista el código de integridad de cada archivo del corte (también los del sitio y las imágenes). En la carpeta donde están los archivos que descargó, compruebe los que tiene:" }),
          h("ul", null,
            h("li", null, "Linux: ", h("code", { texto: "sha256sum -c --ignore-missing MANIFIESTO.sha256" })),
            h("li", null, "macOS: ", h("code", { texto: "shasum -a 256 -c --ignore-missing MANIFIESTO.sha256" })),
            h("li", null, "Windows: ", h("code", { texto: "certutil -hashfile ARCHIVO SHA256" }), " y compare con su línea del manifiesto")),
          h("p", { texto: "El manifiesto está firmado por el instituto (MANIFIESTO.sha256.sig, con la llave pública llave_publica.pem del corte): con el corte completo, «prep verify-corte CARPETA --huella HUELLA» comprueba la firma, cada archivo y cada resumen; la huella de la llave la publica el instituto." }),
          h("p", { texto: "El código de integridad de la imagen de cada acta está en la columna CODIGO_INTEGRIDAD y en la página del acta, donde un botón lo recalcula en su navegador." })),
        h("section", { "class": "bloque", id: "registro" }, h("h2", { texto: "Registro público de cortes" }),
          h("p", { texto: "Cada corte publicado queda en un registro público de solo agregar (carpeta transparencia/ junto a los cortes). Los difusores oficiales comprueban que cada corte nuevo extiende lo que ya vieron y lo firman como testigos: así nadie puede mostrar un corte distinto a cada quien ni cambiar un corte pasado sin que se note. Sus firmas llegan con el corte siguiente." }),
          h("p", { texto: "Al abrir esta página, su navegador lee ese registro, comprueba que este corte (su nombre y el código de integridad de su manifiesto firmado) está en él y verifica la firma de cada difusor con la llave que publica DIFUSORES.csv; una firma que no verifica no se cuenta. La comprobación completa, con todas las cabezas posteriores: «prep verify-corte CARPETA --testigos»." }))]
    });
  }

  /* ---- progress per CATD: AVANCE_CATD.csv's rows, each value as the CSV writes it --- */

  var EN_LINEA = {
    "1": ["En línea", "conexion-si"],
    "0": ["Sin conexión", "conexion-no"],
    NO_PUBLICADO: ["No publicado por decisión del coordinador", "conexion-oculta"]
  };

  function vistaCatd() {
    return cargar("catd").then(function (c) {
      var col = function (f, n) { return f[c.columnas.indexOf(n)]; };
      var cifra = function (f, n, texto) {
        return h("span", { "data-columna": n, "data-valor": col(f, n), texto: texto });
      };
      var conteo = function (f, n) {
        return col(f, n) === "N/A" ? cifra(f, n, "No aplica") : cifra(f, n, miles(col(f, n)));
      };
      var primera = indice.elecciones[0].codigo;
      var filas = c.filas.map(function (f) {
        var id = col(f, "ID_CATD"), ccv = id === "CCV";
        var distritos = ccv ? cifra(f, "DISTRITOS_LOCALES", "No aplica")
          : h("span", { "data-columna": "DISTRITOS_LOCALES", "data-valor": col(f, "DISTRITOS_LOCALES") },
              col(f, "DISTRITOS_LOCALES").split(";").map(function (d, i) {
                return [i ? ", " : "", h("a", { href: "#/e/" + primera + "/d/" + d, texto: d })];
              }));
        var publicadas = ccv ? conteo(f, "ACTAS_PUBLICADAS")
          : [cifra(f, "ACTAS_PUBLICADAS", miles(col(f, "ACTAS_PUBLICADAS"))), " (",
             cifra(f, "PORCENTAJE_ACTAS_PUBLICADAS", porcentaje(col(f, "PORCENTAJE_ACTAS_PUBLICADAS"))), ")"];
        var mediana = ccv ? conteo(f, "MEDIANA_ACOPIO_PUBLICACION")
          : col(f, "MEDIANA_ACOPIO_PUBLICACION") === "-"
            ? [cifra(f, "MEDIANA_ACOPIO_PUBLICACION", "Sin actas"), " (",
               cifra(f, "ACTAS_ULTIMA_HORA", miles(col(f, "ACTAS_ULTIMA_HORA"))), ")"]
            : [cifra(f, "MEDIANA_ACOPIO_PUBLICACION", col(f, "MEDIANA_ACOPIO_PUBLICACION")), " (",
               cifra(f, "ACTAS_ULTIMA_HORA", miles(col(f, "ACTAS_ULTIMA_HORA"))), " actas)"];
        var estado = EN_LINEA[col(f, "EN_LINEA")] || [col(f, "EN_LINEA"), ""];
        return [ccv ? "CCV" : "CATD " + id,
                h("span", { "class": "conexion " + estado[1], "data-columna": "EN_LINEA",
                            "data-valor": col(f, "EN_LINEA"), texto: estado[0] }),
                distritos, conteo(f, "ACTAS_ESPERADAS"), conteo(f, "ACTAS_ACOPIADAS"),
                conteo(f, "ACTAS_DIGITALIZADAS"), conteo(f, "ACTAS_CON_CAPTURA"), publicadas, mediana];
      });
      return {
        titulo: "Avance por centro de acopio", pestana: "catd",
        nodos: [encabezado("Avance por centro de acopio (CATD)", "Corte de información: " + indice.corte),
          h("section", { "class": "bloque" },
            h("p", { texto: "Cada centro de acopio y transmisión de datos (CATD) recibe las actas de su " +
              "distrito local. Las cifras son las del archivo AVANCE_CATD.csv de este corte, sumadas " +
              "sobre todas las elecciones; el centro de captura y verificación (CCV) no recibe actas " +
              "propias (captura las de todos los CATD), así que solo se muestra su conexión." }),
            h("div", { "class": "tabla-catd" },
              tabla("Avance y conexión de cada centro", ["Centro", "Conexión", "Distritos",
                    "Esperadas", "Acopiadas", "Digitalizadas", "Con captura", "Publicadas",
                    "Acopio → publicación (mediana)"],
                    filas, [false, false, false, true, true, true, true, true, true])),
            h("ul", { "class": "notas-catd" },
              h("li", { texto: "Acopiadas: con fecha y hora de acopio en el CSV de su elección (incluye las " +
                "registradas Sin Acta). Digitalizadas: con al menos una imagen recibida. Con captura: con al " +
                "menos una captura de sus datos, o ya validadas. Publicadas: con datos en este corte, como ACTAS_CAPTURADAS " +
                "en los CSV de las elecciones." }),
              h("li", { texto: "Mediana del acopio a la publicación: tiempo entre la hora de acopio de cada acta " +
                "y el corte que la publicó por primera vez, para las actas publicadas en los " +
                c.ventana_minutos + " minutos anteriores a este corte (horas:minutos:segundos); entre " +
                "paréntesis, cuántas actas." }),
              h("li", { texto: "Conexión: «En línea» si algún equipo del centro se comunicó con el nodo " +
                "central en los " + c.en_linea_minutos + " minutos anteriores al corte. El coordinador " +
                "puede decidir no publicarla; esa decisión queda registrada con su motivo." })),
            h("p", null, h("a", { href: "../AVANCE_CATD.csv", download: "", texto: "Descargar AVANCE_CATD.csv" })))]
      };
    });
  }

  /* ---- official difusores: DIFUSORES.csv's rows (datos/difusores.js) ------------- */

  function hayDifusores() {
    return (indice.descargas || []).some(function (d) { return d.archivo === "DIFUSORES.csv"; });
  }

  function vistaDifusores() {
    return cargar("difusores").then(function (c) {
      var lista = h("ul", { "class": "difusores", id: "lista-difusores" },
        c.difusores.map(function (d) {
          // Only https addresses become links (verify-corte refuses any other).
          var enlace = /^https:\/\//.test(d.url)
            ? h("a", { href: d.url, rel: "noopener noreferrer", texto: d.url }) : d.url;
          return h("li", null, h("strong", { texto: d.nombre }), " ", enlace);
        }));
      return {
        titulo: "Difusores oficiales", pestana: "difusores",
        nodos: [encabezado("Difusores oficiales", "Corte de información: " + indice.corte),
          h("section", { "class": "bloque" },
            h("p", { texto: "Estas instituciones replican cada corte del PREP en sus propios sitios, " +
              "registradas ante el instituto. Si este sitio no responde, puede consultar los resultados " +
              "en cualquiera de ellas: publican exactamente los mismos archivos, firmados por el instituto." }),
            lista,
            h("p", { texto: "Para comprobar que un corte descargado de un difusor es el del instituto: " +
              "«prep verify-corte CARPETA --huella HUELLA», con la huella de la llave pública que publica " +
              "el instituto (ver Descargas)." }),
            h("p", null, h("a", { href: "../DIFUSORES.csv", download: "", texto: "Descargar DIFUSORES.csv" })))]
      };
    });
  }

  /* ---- witnesses: the difusores that cosigned this corte (testigos.js) ------------ */

  function lista(nombres) {
    return nombres.length < 2 ? nombres.join("")
      : nombres.slice(0, -1).join(", ") + " y " + nombres[nombres.length - 1];
  }

  function mostrarTestigos() {
    var linea = document.getElementById("testigos");
    if (!publicacion || !hayDifusores() || !PREP.testigos) { return; }
    cargar("difusores").then(function (c) {
      return PREP.testigos(publicacion.raiz, publicacion.nombre, c.difusores);
    }).then(function (r) {
      if (r.estado !== "ok") { return; } // no log beside this corte: nothing to say
      var nombres = r.validos.map(function (d) { return d.nombre; }).sort(function (a, b) {
        return a.localeCompare(b, "es");
      });
      var n = nombres.length;
      var partes = [n ? h("strong", { texto: (r.verificadas ? "Verificado y firmado por " : "Firmado por ") +
                                              n + (n === 1 ? " difusor: " : " difusores: ") })
                      : h("strong", { texto: r.invalidos.length ? "Sin firmas válidas de difusores."
                                                                : "Aún sin firmas de difusores:" }),
                    n ? lista(nombres) + "." : r.invalidos.length ? "" : " llegan con el siguiente corte."];
      r.invalidos.forEach(function (d) {
        partes.push(h("span", { "class": "testigo-invalido", texto: " Firma no válida de " + d.nombre +
                                " (no se cuenta)." }));
      });
      if (!r.verificadas) {
        partes.push(h("span", { texto: " Este navegador no comprueba las firmas: compruébelas con " +
                                "«prep verify-corte CARPETA --testigos»." }));
      }
      partes.push(" ", h("a", { href: "#/descargas", texto: "Qué significa" }));
      agregar(linea, partes);
      linea.setAttribute("data-firmas", String(n));
      linea.hidden = false;
    }).catch(function (err) {
      if (!err.registro) { return; } // offline or no difusores.js: the next visit asks again
      agregar(linea, [h("strong", { texto: "Registro público de cortes: " }),
                      "no confirma este corte (" + err.message + ")."]);
      linea.className = "testigos testigos-error";
      linea.hidden = false;
    });
  }

  function noEncontrado(mensaje) {
    return { titulo: "No encontrado", nodos: [encabezado("No encontramos lo que busca"),
      h("p", { texto: mensaje }), h("p", null, h("a", { href: "#/", texto: "Ir al inicio" }))] };
  }

  /* ---- router ------------------------------------------------------------------ */

  function vista(partes) {
    var cod = partes[1];
    if (partes[0] === "e" && eleccion(cod)) {
      var id = Number(partes[3]), sec = Number(partes[5]);
      if (partes.length === 2) { return vistaEntidad(cod); }
      if (partes.length === 4 && partes[2] === "d" && id > 0) { return vistaDistrito(cod, id); }
      if (partes.length === 6 && partes[2] === "d" && partes[4] === "s" && id > 0 && sec > 0) {
        return vistaSeccion(cod, id, sec);
      }
      if (partes.length === 4 && partes[2] === "m" && id > 0) { return vistaDemarcacion(cod, id); }
      if (partes.length === 6 && partes[2] === "m" && partes[4] === "s" && id > 0 && sec > 0) {
        return vistaSeccionDemarcacion(cod, id, sec);
      }
    }
    if (partes[0] === "acta" && partes.length === 2) { return vistaActa(partes[1].toUpperCase()); }
    if (partes[0] === "buscar") { return vistaBuscar(partes.slice(1).join("/")); }
    if (partes[0] === "descargas") { return vistaDescargas(); }
    if (partes[0] === "catd" && partes.length === 1 && indice.catd) { return vistaCatd(); }
    if (partes[0] === "difusores" && partes.length === 1 && hayDifusores()) { return vistaDifusores(); }
    return Promise.resolve(noEncontrado("La dirección no corresponde a ninguna página de este sitio."));
  }

  function mostrar() {
    var main = document.getElementById("contenido");
    var hash = location.hash.replace(/^#\/?/, "");
    if (!hash) { location.replace("#/e/" + indice.elecciones[0].codigo); return; }
    var partes = hash.split("/").map(function (p) {
      try { return decodeURIComponent(p); } catch (err) { return p; }
    });
    var mio = ++turno;
    main.setAttribute("aria-busy", "true");
    vista(partes).catch(function (err) {
      return { titulo: "Error", nodos: [encabezado("No se pudo mostrar esta página"),
                                        h("p", { "class": "error", texto: err.message })] };
    }).then(function (v) {
      var nuevo = document.getElementById("actualizar");
      if (nuevo && nuevo.tagName === "A") { nuevo.href = destinoNuevo(); } // same page there
      if (mio !== turno || !v) { return; }
      vaciar(main);
      agregar(main, v.nodos);
      main.removeAttribute("aria-busy");
      // A drill's page (its banner, prep/corte/simulacro.py) says so in its title too.
      var aviso = document.getElementById("aviso-simulacro");
      document.title = (aviso ? aviso.getAttribute("aria-label") + " · " : "") +
        v.titulo + " · PREP " + indice.fecha_eleccion.slice(0, 4);
      marcarPestana(v.eleccion || v.pestana || (partes[0] === "descargas" ? "descargas" : ""));
      if (!primera) {
        window.scrollTo(0, 0);
        var h1 = main.querySelector("h1");
        if (h1) { h1.focus(); }
      }
      primera = false;
    });
  }

  function marcarPestana(activa) {
    var enlaces = document.querySelectorAll("#pestanas a");
    for (var i = 0; i < enlaces.length; i++) {
      if (enlaces[i].getAttribute("data-clave") === activa) {
        enlaces[i].setAttribute("aria-current", "page");
      } else {
        enlaces[i].removeAttribute("aria-current");
      }
    }
  }

  // What votos.js (loaded after this file) uses to draw.
  PREP.util = {
    h: h, miles: miles, porcentaje: porcentaje, titulo: titulo, tabla: tabla, resumen: resumen,
    demarcacion: demarcacion, entidad: function () { return indice.entidad; }
  };

  function iniciar(ind) {
    indice = ind;
    // The header says which corte the figures are of, even if the page came from another.
    var corte = document.getElementById("corte");
    corte.querySelector("time").textContent = ind.corte;
    if (ind.nombre_corte) { corte.setAttribute("data-corte", ind.nombre_corte); }
    var pestanas = document.getElementById("pestanas");
    vaciar(pestanas);
    ind.elecciones.forEach(function (e) {
      pestanas.appendChild(h("li", null, h("a", { href: "#/e/" + e.codigo, "data-clave": e.codigo,
                                                  texto: titulo(e.nombre) })));
    });
    if (ind.catd) {
      pestanas.appendChild(h("li", null, h("a", { href: "#/catd", "data-clave": "catd",
                                                  texto: "Centros de acopio" })));
    }
    if (hayDifusores()) {
      pestanas.appendChild(h("li", null, h("a", { href: "#/difusores", "data-clave": "difusores",
                                                  texto: "Difusores oficiales" })));
    }
    pestanas.appendChild(h("li", null, h("a", { href: "#/descargas", "data-clave": "descargas",
                                                texto: "Descargas" })));
    document.getElementById("buscar").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var q = document.getElementById("q").value.trim();
      if (q) { location.hash = "#/buscar/" + encodeURIComponent(q); }
    });
    document.getElementById("saltar").addEventListener("click", function (ev) {
      ev.preventDefault();
      var h1 = document.querySelector("#contenido h1");
      (h1 || document.getElementById("contenido")).focus();
    });
    window.addEventListener("hashchange", mostrar);
    mostrar();
    vigilar();
    mostrarTestigos();
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Hidden in the HTML: without JavaScript they would promise what never comes.
    document.getElementById("cargando").hidden = false;
    document.getElementById("buscar").hidden = false;
    document.body.appendChild(h("div", { id: "actualizacion", "aria-live": "polite" }));
    fijarCorte().then(function () { return cargar("indice"); }).then(iniciar).catch(function (err) {
      var main = document.getElementById("contenido");
      vaciar(main);
      agregar(main, [h("h1", { texto: "No se pudo cargar el sitio" }),
                     h("p", { "class": "error", texto: err.message })]);
    });
  });
})();
