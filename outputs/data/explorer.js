// The explorer page's script: controls, charts (inline SVG), headline, share link and export.
// The model itself is ProjectionModel, generated from the traced equations (model/codegen_js.py).
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("projection-data").textContent);
  const CONTROLS = DATA.controls;
  const BY_KEY = {};
  for (const c of CONTROLS) BY_KEY[c.key] = c;
  const YEARS = [];
  for (let y = DATA.start_year; y <= DATA.end_year; y++) YEARS.push(y);
  const NYEARS = YEARS.length;
  const SVGNS = "http://www.w3.org/2000/svg";
  const COLOURS = ["#1b6ca8", "#d1495b", "#2e8b57", "#8e5cc4", "#e07b00"];
  const state = { values: {}, from: {}, year: Math.min(DATA.end_year, Math.max(DATA.start_year, 2030)) };
  const explorer = { timings: [], result: null, baseline: null, data: DATA };
  window.explorer = explorer;

  // --- numbers ---------------------------------------------------------------------------
  function fmt(x) {
    if (!Number.isFinite(x)) return String(x);
    const r = Number(x.toPrecision(3));
    if (Math.abs(r) >= 1000) return Math.round(r).toLocaleString("en-US");
    return String(r);
  }
  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
  }
  function unitText(unit) { return unit === "dimensionless" ? "" : " " + unit; }
  function valueText(key) { return state.values[key] + unitText(BY_KEY[key].unit); }

  // --- the model's inputs ----------------------------------------------------------------
  // each scenario key -> [its value in SI base units as written]; a lever that may start
  // later also has its schedule (model/schedules.py): KEY@times (s since 1 January of the
  // start year), KEY@values and KEY@ramp, the scenario's own or the one the page sets
  function schedule(given, key, base, points, ramp) {
    const row = points.length ? points : [[DATA.year_length, base]];
    const times = [], values = [];
    for (let k = 0; k < DATA.points; k++) {
      const point = row[Math.min(k, row.length - 1)];
      times.push(point[0]);
      values.push(point[1]);
    }
    given[key] = [base];
    given[key + "@times"] = times;
    given[key + "@values"] = values;
    given[key + "@ramp"] = [ramp ? 1 : 0];
  }
  function isChanged(key) {
    return state.values[key] !== OWN_VALUES[key] || state.from[key] !== DATA.start_year;
  }
  function ownInputs() {
    const given = {};
    for (const c of CONTROLS) {
      const v = Number(state.values[c.key]) * c.factor;
      if (!c.schedulable) given[c.key] = [v];
      else if (!isChanged(c.key)) schedule(given, c.key, c.value * c.factor, c.schedule, c.ramp);
      else if (state.from[c.key] === DATA.start_year) schedule(given, c.key, v, [], false);
      else {
        const at = (state.from[c.key] - DATA.start_year) * DATA.year_length;
        schedule(given, c.key, c.value * c.factor, [[at, v]], false);
      }
    }
    return given;
  }
  function baselineInputs() {
    const given = {};
    for (const c of CONTROLS) {
      const b = DATA.baseline_inputs[c.key];
      if (c.schedulable) schedule(given, c.key, b.value * b.factor, b.schedule, b.ramp);
      else given[c.key] = [b.value * b.factor];
    }
    return given;
  }
  const OWN_VALUES = {};
  for (const c of CONTROLS) OWN_VALUES[c.key] = String(c.value);

  function run(given) {
    return ProjectionModel.simulate(ProjectionModel.parameters(given), NYEARS, DATA.substeps);
  }
  function series(result, name, column) {
    const v = result.outputs[name];
    const width = v.length / NYEARS;
    const out = new Array(NYEARS);
    for (let y = 0; y < NYEARS; y++) out[y] = v[y * width + (column || 0)];
    return out;
  }
  function at(result, name, year) { return series(result, name)[year - DATA.start_year]; }
  function problem(result) {
    // as `projection run` refuses a run: a start state that cannot be calibrated, or
    // numbers that are not finite
    if (!(result.calibration_error <= 1e-6)) {
      return "The start year cannot be calibrated to its targets with these inputs "
        + "(start-year demand does not fit the start-year fleet); move a start-year input back.";
    }
    for (const name in result.outputs) {
      if (name.startsWith("__")) continue;
      if (!result.outputs[name].every(Number.isFinite)) {
        return "Output " + name + " is not a finite number with these inputs; "
          + "a value is at the edge of what the equations can follow.";
      }
    }
    return null;
  }

  // --- building the page -----------------------------------------------------------------
  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    for (const c of children || []) e.appendChild(c);
    return e;
  }
  function hover(c) {
    return c.label + "\nUnit: " + (c.unit === "dimensionless" ? "none (a number)" : c.unit)
      + "\nScenario value: " + c.text + "\nSource: " + c.source;
  }
  function controlRow(c, index) {
    const id = "control-" + index;
    const input = el("input", {
      type: "range", id: id, name: c.key, "data-unit": c.unit, min: String(c.low),
      max: String(c.high), step: c.step, value: String(c.value), title: hover(c),
      "aria-describedby": id + "-value",
    });
    const output = el("output", { id: id + "-value", for: id, "aria-live": "off" });
    const label = el("label", { for: id, title: hover(c) }, [
      document.createTextNode(c.label + " "),
      el("span", { class: "unit", text: "(" + (c.unit === "dimensionless" ? "number" : c.unit) + ")" }),
    ]);
    const row = el("div", { class: "control", "data-role": c.role }, [label, input, output]);
    input.addEventListener("input", () => {
      state.values[c.key] = input.value;
      changed();
    });
    if (c.schedulable) {
      const yid = id + "-from";
      const year = el("input", {
        type: "number", id: yid, name: c.key + ":from", "data-unit": "year",
        min: String(DATA.start_year), max: String(DATA.end_year), step: "1",
        value: String(DATA.start_year), title: "The year from whose 1 January the lever's value holds",
      });
      year.addEventListener("input", () => {
        const y = Math.round(Number(year.value));
        if (y >= DATA.start_year && y <= DATA.end_year) { state.from[c.key] = y; changed(); }
      });
      row.appendChild(el("label", { for: yid, class: "from", text: "from" }));
      row.appendChild(year);
    }
    return row;
  }
  function build() {
    const main = document.getElementById("explorer");
    main.textContent = "";
    const levers = el("section", { class: "levers", "aria-label": "Policy levers" },
      [el("h2", { text: "Policy levers" }),
       el("p", { class: "hint", text: "What a government, utility or operator decides. "
         + "Hover for the unit and source; arrow keys move a focused slider." })]);
    const drawer = el("details", { class: "assumptions" },
      [el("summary", { text: "Assumptions (what the world does)" })]);
    CONTROLS.forEach((c, i) => {
      state.values[c.key] = String(c.value);
      state.from[c.key] = DATA.start_year;
      (c.role === "lever" ? levers : drawer).appendChild(controlRow(c, i));
    });
    const reset = el("button", { type: "button", id: "reset", text: "Back to the scenario" });
    reset.addEventListener("click", () => { restore({}); });
    const side = el("aside", {}, [levers, drawer, reset]);
    const yearInput = el("input", {
      type: "range", id: "headline-year", name: "view.headline_year", "data-unit": "year",
      min: String(DATA.start_year + 1), max: String(DATA.end_year), step: "1",
      value: String(state.year),
    });
    yearInput.addEventListener("input", () => { state.year = Number(yearInput.value); draw(); });
    const headline = el("section", { class: "headline", "aria-live": "polite" }, [
      el("div", { class: "year" }, [el("label", { for: "headline-year", text: "Year shown " }),
        yearInput, el("output", { id: "headline-year-value", for: "headline-year" })]),
      el("p", { id: "headline" }),
      el("p", { id: "problem", class: "problem", role: "alert" }),
    ]);
    const charts = el("section", { class: "charts" });
    for (const chart of DATA.charts) {
      charts.appendChild(el("figure", { id: "chart-" + chart.id, class: "chart" }, [
        el("figcaption", { text: chart.title + " (" + chart.unit + ")" }),
        el("div", { class: "plot" }),
      ]));
    }
    const share = el("section", { class: "share" }, [
      el("h2", { text: "Share and reproduce" }),
      el("p", {}, [el("label", { for: "share-link", text: "Link to this scenario " }),
        el("input", { type: "text", id: "share-link", name: "share.link", "data-unit": "URL",
                      readonly: "readonly" })]),
      el("p", {}, [el("label", { for: "command", text: "Briefing on this scenario " }),
        el("input", { type: "text", id: "command", name: "share.command", "data-unit": "text",
                      readonly: "readonly" })]),
      el("p", {}, [el("label", { for: "run-command", text: "Run that writes these figures " }),
        el("input", { type: "text", id: "run-command", name: "share.run", "data-unit": "text",
                      readonly: "readonly" })]),
      el("p", {}, [el("label", { for: "toml", text: "Scenario file (TOML; `projection run` "
        + "reproduces the page) " }), el("a", { id: "toml-download", download: "explorer-scenario.toml",
        href: "#", text: "download" })]),
      el("textarea", { id: "toml", name: "share.toml", "data-unit": "text", rows: "8",
                       readonly: "readonly" }),
    ]);
    main.appendChild(side);
    main.appendChild(el("div", { class: "results" }, [headline, charts, share]));
  }

  // --- charts ------------------------------------------------------------------------------
  function chartSvg(chart, own, base) {
    const W = 440, H = 210, L = 52, R = 10, T = 10, B = 26;
    let top = 0;
    const lines = chart.series.map(([name], i) => {
      const a = series(own, name), b = base ? series(base, name) : null;
      for (const v of a) if (Number.isFinite(v)) top = Math.max(top, v);
      if (b) for (const v of b) if (Number.isFinite(v)) top = Math.max(top, v);
      return [a, b, i];
    });
    if (!(top > 0)) top = 1;
    const mag = Math.pow(10, Math.floor(Math.log10(top)));
    const unit = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((u) => top / u <= 5) || 10 * mag;
    top = Math.ceil(top / unit) * unit;
    const x = (i) => L + (W - L - R) * i / (NYEARS - 1);
    const y = (v) => T + (H - T - B) * (1 - v / top);
    const parts = [];
    for (let v = 0; v <= top + unit / 2; v += unit) {
      parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`
        + `<text x="${L - 4}" y="${y(v) + 4}" class="tick" text-anchor="end">${fmt(v)}</text>`);
    }
    const every = NYEARS > 14 ? 5 : 2;
    YEARS.forEach((yr, i) => {
      const last = i === NYEARS - 1 && (yr - DATA.start_year) % every >= every / 2;
      if ((yr - DATA.start_year) % every === 0 || last) {
        parts.push(`<text x="${x(i)}" y="${H - 8}" class="tick" text-anchor="middle">${yr}</text>`);
      }
    });
    const path = (vals) => vals.map((v, i) => (i ? "L" : "M") + x(i).toFixed(1) + " "
      + y(Number.isFinite(v) ? v : 0).toFixed(1)).join("");
    for (const [a, b, i] of lines) {
      if (b) parts.push(`<path d="${path(b)}" class="baseline"/>`);
      parts.push(`<path d="${path(a)}" stroke="${COLOURS[i % COLOURS.length]}" class="own"/>`);
    }
    const legend = chart.series.map(([name, label], i) => `<span class="key" data-variable="${name}">`
      + `<i style="background:${COLOURS[i % COLOURS.length]}"></i>${label}</span>`).join("")
      + (base ? `<span class="key"><i class="grey"></i>baseline</span>` : "");
    return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${chart.title}, ${DATA.start_year}`
      + `-${DATA.end_year}, in ${chart.unit}">${parts.join("")}</svg><div class="legend">${legend}</div>`;
  }

  // --- headline ---------------------------------------------------------------------------
  function fig(name, year, value, unit) {
    return `<span class="figure" data-variable="${name}" data-year="${year}" data-value="${value}">`
      + `${fmt(value)}${unit ? " " + unit : ""}</span>`;
  }
  function headlineHtml(own, base) {
    const y = state.year, eq = DATA.equivalents;
    const twh = at(own, "facility_energy", y), baseTwh = at(base, "facility_energy", y);
    const household = Number(state.values["context.household_electricity"])
      * BY_KEY["context.household_electricity"].factor * 365.25 * 86400 / 3.6e6;
    const homes = twh * 1e9 / household;
    const gw = twh * 1e12 / (365.25 * 24) / 1e9;
    const plants = gw / eq.power_plant.value;
    let country = eq.countries[0];
    for (const c of eq.countries) {
      if (Math.abs(Math.log(c.value / twh)) < Math.abs(Math.log(country.value / twh))) country = c;
    }
    const chat = at(own, "chat_energy_per_request", y);
    const seconds = chat * 3600 / eq.microwave.value;
    const change = twh / baseTwh - 1;
    const direction = Math.abs(change) < 0.0005 ? "the same as" : (change > 0
      ? fmt(100 * change) + " % more than" : fmt(-100 * change) + " % less than");
    return `In ${y}, US data centres use ${fig("facility_energy", y, twh, "TWh")} of electricity, `
      + `${direction} the baseline's ${fig("baseline:facility_energy", y, baseTwh, "TWh")}; `
      + `${fig("share_of_us_electricity", y, at(own, "share_of_us_electricity", y), "%")} of US `
      + `electricity. AI servers take ${fig("ai_facility_energy", y, at(own, "ai_facility_energy", y), "TWh")}. `
      + `That is the yearly electricity of about ${fig("homes_equivalent", y, homes / 1e6, "million")} `
      + `average US homes; an average draw of ${fig("average_power", y, gw, "GW")}, the output of about `
      + `${fig("power_plants", y, plants, "")} power plants of ${esc(eq.power_plant.text)}; close to `
      + `what ${esc(country.label)} used in ${esc(country.year)} (${esc(country.text)}). `
      + `Water: ${fig("onsite_water", y, at(own, "onsite_water", y), "billion litres")} on site and `
      + `${fig("indirect_water", y, at(own, "indirect_water", y), "billion litres")} at power plants. `
      + `Emissions: ${fig("emissions", y, at(own, "emissions", y), "Mt CO2e")} location-based, `
      + `${fig("emissions_market_based", y, at(own, "emissions_market_based", y), "Mt")} market-based. `
      + `One chat request takes ${fig("chat_energy_per_request", y, chat, "Wh")}: a `
      + `${esc(eq.microwave.text)} microwave oven running ${fig("microwave_seconds", y, seconds, "s")}.`;
  }

  // --- share link, TOML, command -----------------------------------------------------------
  function changedKeys() {
    return CONTROLS.map((c) => c.key).filter(isChanged);
  }
  function fragment() {
    const parts = [];
    for (const k of changedKeys()) {
      parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(state.values[k]));
      if (state.from[k] !== DATA.start_year) parts.push(encodeURIComponent(k + ":from") + "=" + state.from[k]);
    }
    return parts.join("&");
  }
  function tomlString(s) { return JSON.stringify(s); }
  function entryToml(k) {
    const c = BY_KEY[k];
    const source = tomlString("explorer setting (projection explore " + DATA.model_version + ")");
    if (state.from[k] === DATA.start_year) {
      return `${c.key.split(".").pop()} = { value = ${tomlString(valueText(k))}, source = ${source} }`;
    }
    return `${c.key.split(".").pop()} = { value = ${tomlString(c.text)}, schedule = { ${state.from[k]} = `
      + `${tomlString(valueText(k))} }, source = ${source} }`;
  }
  function toml() {
    const keys = changedKeys();
    const lines = [
      "# Scenario exported from the projection explorer (" + DATA.model_version + "):",
      "# `projection run " + "THIS_FILE` reproduces the page's figures.",
      "[scenario]",
      "title = " + tomlString(DATA.scenario.title + " (explorer)"),
      "description = " + tomlString(keys.length ? "Explorer changes to " + DATA.scenario.title + ": "
        + keys.map((k) => k + " " + valueText(k) + (state.from[k] !== DATA.start_year ? " from " + state.from[k] : "")).join("; ")
        : "The scenario " + DATA.scenario.title + " as shipped."),
      "extends = " + tomlString(DATA.scenario.ref),
      "end_year = " + DATA.end_year,
    ];
    const sections = {};
    for (const k of keys) {
      const section = k.split(".").slice(0, -1).join(".");
      (sections[section] = sections[section] || []).push(entryToml(k));
    }
    for (const s of Object.keys(sections).sort()) lines.push("", "[" + s + "]", ...sections[s]);
    return lines.join("\n") + "\n";
  }
  function shellQuote(s) { return /^[A-Za-z0-9_.,:/=@%+-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'"; }
  function setArgument(k) {
    if (state.from[k] === DATA.start_year) return "--set " + shellQuote(k + "=" + valueText(k));
    return "--set " + shellQuote(k + "=" + BY_KEY[k].text + "; " + state.from[k] + ": " + valueText(k));
  }
  function command() {
    // the briefing covers the scenario's own years; the values are the page's
    return ["projection brief", shellQuote(DATA.scenario.ref),
      ...changedKeys().map(setArgument)].join(" ");
  }
  function runCommand() {
    return ["projection run", shellQuote(DATA.scenario.ref), "--end-year", String(DATA.end_year),
      ...changedKeys().map(setArgument)].join(" ");
  }
  let tomlUrl = null;
  function updateShare() {
    const frag = fragment();
    const url = location.href.split("#")[0] + (frag ? "#" + frag : "");
    if (location.hash.slice(1) !== frag) history.replaceState(null, "", frag ? "#" + frag : location.pathname + location.search);
    document.getElementById("share-link").value = url;
    document.getElementById("command").value = command();
    document.getElementById("run-command").value = runCommand();
    const text = toml();
    document.getElementById("toml").value = text;
    if (tomlUrl) URL.revokeObjectURL(tomlUrl);
    tomlUrl = URL.createObjectURL(new Blob([text], { type: "application/toml" }));
    document.getElementById("toml-download").href = tomlUrl;
  }
  function restore(overrides) {
    for (const c of CONTROLS) {
      state.values[c.key] = String(c.value);
      state.from[c.key] = DATA.start_year;
    }
    const unknown = [];
    for (const k in overrides) {
      const [key, part] = k.split(":");
      if (!(key in BY_KEY) || (part && part !== "from") || !Number.isFinite(Number(overrides[k]))) {
        unknown.push(k);
        continue;
      }
      if (part === "from") state.from[key] = Math.round(Number(overrides[k]));
      else state.values[key] = overrides[k];
    }
    for (const input of document.querySelectorAll("input[type=range][name]")) {
      if (input.name in BY_KEY) input.value = state.values[input.name];
    }
    for (const input of document.querySelectorAll("input[type=number][name$=':from']")) {
      input.value = String(state.from[input.name.split(":")[0]]);
    }
    changed(unknown.length ? "Ignored from the link: " + unknown.join(", ") : null);
  }
  function parseFragment(hash) {
    const out = {};
    for (const part of hash.replace(/^#/, "").split("&")) {
      if (!part) continue;
      const i = part.indexOf("=");
      if (i < 0) continue;
      out[decodeURIComponent(part.slice(0, i))] = decodeURIComponent(part.slice(i + 1));
    }
    return out;
  }

  // --- redraw ------------------------------------------------------------------------------
  let notice = null;
  function draw() {
    const own = explorer.result, base = explorer.baseline;
    document.getElementById("headline-year-value").value = String(state.year);
    for (const input of document.querySelectorAll("input[type=range][name]")) {
      const c = BY_KEY[input.name];
      if (c) document.getElementById(input.id + "-value").value = valueText(c.key);
    }
    const why = problem(own);
    document.getElementById("problem").textContent = why || notice || "";
    if (why) return;
    document.getElementById("headline").innerHTML = headlineHtml(own, base);
    for (const chart of DATA.charts) {
      document.querySelector("#chart-" + chart.id + " .plot").innerHTML = chartSvg(chart, own, base);
    }
  }
  function changed(message) {
    const t0 = performance.now();
    notice = message || null;
    explorer.result = run(ownInputs());
    draw();
    updateShare();
    explorer.timings.push(performance.now() - t0);
  }

  build();
  explorer.baseline = run(baselineInputs());
  restore(location.hash.length > 1 ? parseFragment(location.hash) : DATA.initial);
  window.addEventListener("hashchange", () => {
    if (location.hash.slice(1) !== fragment()) restore(parseFragment(location.hash));
  });
  explorer.ready = true;
})();
