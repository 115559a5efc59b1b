// Classic Notebook extension: draws the Vega-Lite representation of the notebooks' figures
// (application/vnd.vegalite.v5+json, see src/notebooks/display.ts) with vega-embed, so that
// tooltips and the legend selection work in the browser. The vega, vega-lite and vega-embed
// bundles are served beside this file from the copies `npm run notebook-server` writes (no
// network). When they are missing or a figure fails to draw, the output says why and shows the
// figure's static SVG instead (its text/html representation).
define(["require", "jquery", "base/js/security", "notebook/js/outputarea"], function (
  require,
  $,
  security,
  outputarea,
) {
  "use strict";
  var MIME = "application/vnd.vegalite.v5+json";
  var HERE = "nbextensions/narrator-vega/";
  // vega-lite and vega-embed ask for their dependencies by package name.
  requirejs.config({ map: { "*": { vega: HERE + "vega", "vega-lite": HERE + "vega-lite" } } });

  var embed = null;
  function loadEmbed() {
    if (!embed)
      embed = new Promise(function (resolve, reject) {
        require([HERE + "vega-embed"], resolve, function (e) {
          reject(new Error("the vega bundles were not found (start Jupyter with npm run notebook-server): " + e.message));
        });
      });
    return embed;
  }

  // The output being drawn, so that a failed figure can fall back to its other representations.
  var current = null;

  function append(spec, metadata, element) {
    var output = current;
    var area = this.create_output_subarea(metadata, "output_vegalite narrator-vega", MIME);
    var target = $("<div/>").addClass("narrator-vega-view");
    area.append(target);
    element.append(area);
    var trusted = this.trusted;
    loadEmbed()
      .then(function (vegaEmbed) {
        return vegaEmbed(target[0], spec, { actions: false, mode: "vega-lite", renderer: "svg" });
      })
      .catch(function (e) {
        var html = output && output.data && output.data["text/html"];
        target.empty();
        area.addClass("narrator-vega-failed");
        area.append($("<pre/>").addClass("narrator-vega-error").text("figure not drawn: " + e.message));
        if (typeof html === "string") area.append(trusted ? html : security.sanitize_html(html));
      });
    return area;
  }

  function load_ipython_extension() {
    var OutputArea = outputarea.OutputArea;
    var appendMimeType = OutputArea.prototype.append_mime_type;
    OutputArea.prototype.append_mime_type = function (json) {
      current = json;
      try {
        return appendMimeType.apply(this, arguments);
      } finally {
        current = null;
      }
    };
    // Before text/html: the spec is data (vega's expressions are sandboxed), so safe to draw.
    OutputArea.prototype.register_mime_type(MIME, append, { safe: true, index: 0 });
  }

  return { load_ipython_extension: load_ipython_extension };
});
