/* The votes of the public PREP site: the party view, the candidatura view and the table
 * of contests. Loaded after app.js, whose helpers it uses (PREP.util). Every figure comes
 * as is from the corte's data files (the CSV's own sums, computed when the corte was
 * written); this script only formats them and never adds or divides.
 *
 * A page shows votes only for an area inside one contest (the entidad in an election of
 * the whole entidad; a distrito, an alcaldía or anything inside them in an election per
 * distrito or per alcaldía). An area spanning several contests shows the contests
 * instead, each with who leads it: votes of different contests are never added up.
 */
(function () {
  "use strict";

  var PREP = (window.PREP = window.PREP || {});
  var COLORES = {
    PAN: "#06338e", PRI: "#00843d", PRD: "#f2c100", PVEM: "#5fa83a", PT: "#d52b1e",
    MC: "#f07d00", MORENA: "#a6192e", NO_REGISTRADAS: "#767676", NULOS: "#4a4a4a"
  };
  var PALETA = ["#5b4a8b", "#00707a", "#8a4b08", "#3d5a80", "#7a1f5c", "#2f6f3e"];
  var TITULOS = {
    partido: "Votos por partido político, coalición y candidatura independiente",
    candidatura: "Votos por candidatura"
  };
  var NOTAS = {
    partido: "Cada columna del acta por separado: partidos, combinaciones de coalición, " +
      "candidaturas independientes, candidaturas no registradas y votos nulos.",
    candidatura: "Una candidatura de coalición reúne los votos de todos sus partidos y " +
      "de todas sus combinaciones; los demás partidos y las candidaturas independientes " +
      "tienen los de su propia columna. Solo es una forma de mostrarlos: el CSV conserva " +
      "una columna por partido y por combinación."
  };
  var vistaActual = "partido"; // kept while the reader moves between pages

  function u() { return PREP.util; }

  /* ---- emblems ------------------------------------------------------------------- */

  function color(asoc, i) {
    if (COLORES[asoc.clave]) { return COLORES[asoc.clave]; }
    if (asoc.tipo === "coalicion" && asoc.partidos.length) {
      var partes = asoc.partidos.map(function (p) { return COLORES[p] || "#767676"; });
      var paso = 100 / partes.length;
      return "linear-gradient(90deg," + partes.map(function (c, k) {
        return c + " " + (k * paso) + "% " + ((k + 1) * paso) + "%";
      }).join(",") + ")";
    }
    return PALETA[i % PALETA.length];
  }

  function emblema(asoc, i) {
    var corto = asoc.tipo === "independiente" ? "CI" : asoc.tipo === "coalicion" ? "" :
      asoc.clave === "NO_REGISTRADAS" ? "NR" : asoc.clave === "NULOS" ? "N" : asoc.clave;
    var el = u().h("span", { "class": "emblema" + (asoc.clave === "PRD" ? " claro" : "") +
                             (corto.length > 4 ? " largo" : ""),
                             "aria-hidden": "true", texto: corto });
    el.style.background = color(asoc, i);
    return el;
  }

  function renglon(asoc, i, votos, pct, atributos, detalle) {
    var h = u().h;
    var barra = h("span", { "class": "barra-relleno" });
    barra.style.width = pct + "%";
    barra.style.background = color(asoc, i);
    atributos["class"] = "voto";
    return h("li", atributos,
      emblema(asoc, i),
      h("span", { "class": "voto-nombre" }, asoc.nombre, detalle),
      h("span", { "class": "voto-cifras" },
        h("strong", { "class": "voto-num", texto: u().miles(votos) }),
        h("span", { "class": "voto-pct", texto: u().porcentaje(pct) })),
      h("span", { "class": "barra", "aria-hidden": "true" }, barra));
  }

  /* ---- candidaturas -------------------------------------------------------------- */

  /* The registered person of a candidatura, labelled without assuming who they are:
   * «Propietario(a)» and «Suplente» where the office has a suplente (diputaciones),
   * «Candidato(a)» alone where it has none (Jefatura de Gobierno, alcaldías). */
  function personas(e, cand) {
    var h = u().h;
    if (cand.tipo === "otro") { return null; }
    if (!cand.personas.length) {
      return h("span", { "class": "voto-personas", texto: "Sin nombres en el registro de candidaturas" });
    }
    var conSuplente = e.suplente !== false;
    return cand.personas.map(function (p) {
      return h("span", { "class": "voto-personas", "data-asociacion": p.asociacion || null,
                         texto: (p.asociacion ? p.asociacion + ": " : "") +
                           (conSuplente ? "Propietario(a): " : "Candidato(a): ") + p.propietaria +
                           (conSuplente ? " · Suplente: " + (p.suplente || "—") : "") });
    });
  }

  /* The one person a candidatura registered (a coalition's parties all name the same
   * one), or "" when the register has none or, in a catalog that disagrees, several. */
  function personaUnica(cand) {
    var nombres = [];
    cand.personas.forEach(function (p) {
      if (p.propietaria && nombres.indexOf(p.propietaria) < 0) { nombres.push(p.propietaria); }
    });
    return nombres.length === 1 ? nombres[0] : "";
  }

  function detalleCandidatura(e, cand) {
    var lista = [personas(e, cand)];
    if (cand.tipo === "coalicion") {
      lista.push(u().h("span", { "class": "voto-detalle",
                                 texto: "Suma de: " + cand.campos.join(" + ") }));
    }
    return lista;
  }

  function contendientes(e, contienda) { return e.contendientes[String(contienda)]; }

  /* The votes of an area inside one contest, with the party/candidatura switch. */
  function bloque(e, area, valores, nota) {
    var h = u().h;
    var cands = contendientes(e, area.contienda);
    var porPartido = h("ol", { "class": "lista-votos", id: "votos-partido" },
      area.votos.map(function (v) {
        return renglon(e.asociaciones[v[0]], v[0], v[1], v[2],
                       { "data-asociacion": e.asociaciones[v[0]].clave }, null);
      }));
    var porCandidatura = h("ol", { "class": "lista-votos", id: "votos-candidatura" },
      area.candidaturas.map(function (v) {
        var cand = cands[v[0]];
        return renglon(cand, cand.asociaciones[0], v[1], v[2], { "data-candidatura": cand.clave },
                       detalleCandidatura(e, cand));
      }));
    var titulo = h("h2", { id: "t-votos" });
    var explicacion = h("span");
    var botones = ["partido", "candidatura"].map(function (vista) {
      var b = h("button", { type: "button", "class": "vista", "data-vista": vista,
                            texto: vista === "partido" ? "Por partido político" : "Por candidatura" });
      b.addEventListener("click", function () { vistaActual = vista; mostrar(); });
      return b;
    });
    function mostrar() {
      porPartido.hidden = vistaActual !== "partido";
      porCandidatura.hidden = vistaActual !== "candidatura";
      titulo.textContent = TITULOS[vistaActual];
      explicacion.textContent = NOTAS[vistaActual];
      botones.forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-vista") === vistaActual));
      });
    }
    mostrar();
    return h("section", { "class": "bloque votos", "aria-labelledby": "t-votos" },
      titulo,
      h("div", { "class": "vista-votos", role: "group", "aria-label": "Mostrar los votos" }, botones),
      h("p", { "class": "nota" }, nota, " ", explicacion,
        " Porcentajes sobre el total de votos, truncados a cuatro decimales."),
      porPartido, porCandidatura,
      h("p", { "class": "total-votos" }, "Total de votos: ",
        h("strong", { "data-campo": "TOTAL_VOTOS_C_CS",
                      texto: u().miles(u().resumen(valores, "TOTAL_VOTOS_C_CS")) })));
  }

  /* ---- contests ------------------------------------------------------------------ */

  function nivel(e) {
    return e.ambito === "distrito" ? e.distritos : e.ambito === "demarcacion" ? e.demarcaciones : [];
  }

  function contienda(e, id) {
    return nivel(e).filter(function (x) { return x.id === id; })[0];
  }

  function nombreContienda(e, id) {
    var item = contienda(e, id);
    if (e.ambito === "distrito") { return "Distrito " + id + (item ? " (" + u().titulo(item.cabecera) + ")" : ""); }
    if (e.ambito === "demarcacion") {
      return PREP.util.demarcacion() + " " + (item ? u().titulo(item.nombre) : id);
    }
    return u().titulo(PREP.util.entidad());
  }

  function rutaContienda(e, id) {
    return "#/e/" + e.codigo + (e.ambito === "distrito" ? "/d/" : "/m/") + id;
  }

  function encabeza(e, id, lider) {
    var h = u().h;
    var cands = contendientes(e, id);
    if (!lider || !lider.candidaturas.length) {
      return h("span", { "class": "sin-lider", texto: "Sin votos contabilizados" });
    }
    var nombres = lider.candidaturas.map(function (k) {
      var c = cands[k];
      var persona = personaUnica(c);
      return h("span", { "class": "lider", "data-candidatura": c.clave },
        h("strong", { texto: c.nombre }), persona ? h("span", { "class": "lider-persona", texto: persona }) : null);
    });
    return lider.candidaturas.length > 1 ? [h("span", { texto: "Empate: " }), nombres] : nombres;
  }

  /* One line per contest: who leads it, with how many votes, and how far its count is. */
  function tablaContiendas(e, ids, titulo, nota) {
    var h = u().h, r = u().resumen;
    var etiqueta = e.ambito === "distrito" ? "Distrito" : PREP.util.demarcacion();
    var filas = ids.map(function (id) {
      var item = contienda(e, id);
      // A contest with no acta counted in it yet leads with nobody.
      var lider = (item && item.encabeza) || { candidaturas: [], votos: 0, porcentaje: "0.0000" };
      return [h("a", { href: rutaContienda(e, id), texto: nombreContienda(e, id) }),
              encabeza(e, id, lider),
              lider.candidaturas.length ? u().miles(lider.votos) : "—",
              lider.candidaturas.length ? u().porcentaje(lider.porcentaje) : "—",
              u().miles(r(item.resumen, "ACTAS_CONTABILIZADAS")) + " de " +
                u().miles(r(item.resumen, "ACTAS_ESPERADAS")) + " (" +
                u().porcentaje(r(item.resumen, "PORCENTAJE_ACTAS_CONTABILIZADAS")) + ")"];
    });
    return h("section", { "class": "bloque contiendas" }, h("h2", { texto: titulo }),
      h("p", { "class": "nota", texto: nota }),
      u().tabla("Quién encabeza cada contienda y cuántas de sus actas se contabilizaron",
                [etiqueta, "Encabeza", "Votos", "% de los votos", "Actas contabilizadas"],
                filas, [false, false, true, true, true], function (i) {
                  return { "data-contienda": String(ids[i]) };
                }));
  }

  PREP.votos = {
    bloque: bloque, tablaContiendas: tablaContiendas, nombreContienda: nombreContienda,
    rutaContienda: rutaContienda, color: color
  };
})();
