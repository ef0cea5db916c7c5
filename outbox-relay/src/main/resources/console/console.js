// The console's only script of its own (the Content-Security-Policy allows no inline script).
// It draws delivered and failed messages per second with uPlot, from /console/rates, and fetches
// them again every data-refresh seconds. Everything else that refreshes is htmx (hx-trigger).
(function () {
  'use strict';

  function start() {
    var box = document.getElementById('rates');
    if (!box || typeof uPlot === 'undefined') {
      return;
    }
    var src = box.getAttribute('data-src');
    var refresh = Math.max(1, parseInt(box.getAttribute('data-refresh'), 10) || 2) * 1000;
    var plot = null;

    function size() {
      return { width: Math.max(240, box.clientWidth), height: 120 };
    }

    function draw(data) {
      var series = [data.t, data.delivered, data.failed];
      if (plot === null) {
        var s = size();
        plot = new uPlot({
          width: s.width,
          height: s.height,
          legend: { live: false },
          scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
          axes: [{}, { size: 50 }],
          series: [
            {},
            { label: 'delivered/s', stroke: '#1b7f3b', fill: 'rgba(27,127,59,0.12)', width: 1.5 },
            { label: 'failed/s', stroke: '#c62828', fill: 'rgba(198,40,40,0.10)', width: 1.5 }
          ]
        }, series, box);
      } else {
        plot.setData(series);
      }
      box.setAttribute('data-points', String(data.t.length));
      box.removeAttribute('data-error');
    }

    function load() {
      fetch(src, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error('HTTP ' + response.status);
          }
          return response.json();
        })
        .then(draw)
        .catch(function () { box.setAttribute('data-error', 'true'); });
    }

    load();
    setInterval(load, refresh);
    window.addEventListener('resize', function () {
      if (plot !== null) {
        plot.setSize(size());
      }
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
