// Dashboard: the device's identity and uptime, and live charts fed by /platform/api/events
// (systemperf: CPU per core and memory; hwmon: temperatures, voltages, fans; netifaces: throughput;
// diskdrives: how full each file system is).
import { get } from "../api";
import { LiveChart } from "../chart";
import { duration, h, note, say } from "../dom";
import { subscribe } from "../events";

export function render(root: HTMLElement): () => void {
  const identity = h("dl", { class: "facts" });
  const error = note();
  const uptime = h("dd", { "data-testid": "uptime" }, "…");
  root.append(h("section", { class: "card identity", "aria-labelledby": "id-title" }, h("h2", { id: "id-title" }, "This device"), identity, error));

  let upAt = 0, upBase = 0;
  Promise.all([get("/platform/api/host/info"), get("/edgehub/api/profile").catch(() => ({}))]).then(([info, profile]) => {
    const fact = (k: string, v: unknown) => (v === undefined || v === "" ? [] : [h("dt", null, k), h("dd", null, String(v))]);
    identity.append(
      ...fact("Name", info.deviceName), ...fact("Model", profile["model:name"]), ...fact("Host name", info.hostname),
      ...fact("Operating system", info.platform), ...fact("Image", info.imageVersion), ...fact("Serial number", info.biosSerialNumber),
      ...fact("Address", profile["system:ip"]), ...fact("MAC", profile["system:mac"]),
      ...fact("Booted", info.bootTime ? new Date(info.bootTime * 1000).toLocaleString() : ""),
      h("dt", null, "Up for"), uptime);
    upAt = performance.now();
    upBase = info.upTime || 0;
    tick();
  }, (err) => say(error, `Device identity: ${err.message}`));
  const tick = () => { if (upAt) uptime.textContent = duration(upBase + (performance.now() - upAt) / 1000); };
  const ticker = window.setInterval(tick, 1000);

  const pct = (v: number) => v.toFixed(0);
  const charts = {
    cpu: new LiveChart("cpu", "CPU per core", "%", (v) => v.toFixed(1), [0, 100]),
    memory: new LiveChart("memory", "Memory in use", "%", (v) => v.toFixed(1), [0, 100]),
    temperature: new LiveChart("temperature", "Temperatures", "°C"),
    voltage: new LiveChart("voltage", "Voltages", "V", (v) => v.toFixed(2)),
    fan: new LiveChart("fan", "Fans", "RPM", (v) => v.toFixed(0)),
    net: new LiveChart("net", "Network throughput", "kB/s", (v) => v.toFixed(1)),
    disk: new LiveChart("disk", "File systems in use", "%", pct, [0, 100]),
  };
  const grid = h("div", { class: "charts" }, Object.values(charts).map((c) => c.el));
  root.append(grid);

  const last = new Map<string, { t: number; rx: number; tx: number }>();
  const now = () => Date.now() / 1000;
  const series = (items: any[] | undefined) => Object.fromEntries((items || []).map((s) => [s.name, Number(s.value)]));

  const stop = subscribe(["systemperf", "hwmon", "netifaces", "diskdrives"], (name, data) => {
    const t = now();
    if (name === "systemperf") {
      const usage: number[] = data?.cpu?.usage || [];
      charts.cpu.push(t, Object.fromEntries(usage.map((v, i) => [`CPU ${i}`, v])));
      if (data?.memory) charts.memory.push(t, { Memory: data.memory.usedPercent });
    } else if (name === "hwmon") {
      charts.temperature.push(t, series(data.temperature));
      charts.voltage.push(t, series(data.voltage));
      charts.fan.push(t, series(data.fanspeed));
    } else if (name === "netifaces") {
      const values: Record<string, number> = {};
      for (const nic of data || []) {
        const c = nic.iocounters;
        if (!c) continue;
        const prev = last.get(nic.name);
        last.set(nic.name, { t, rx: c.bytesRecv, tx: c.bytesSent });
        if (prev && t > prev.t) {
          values[`${nic.name} in`] = Math.max(0, (c.bytesRecv - prev.rx) / (t - prev.t) / 1000);
          values[`${nic.name} out`] = Math.max(0, (c.bytesSent - prev.tx) / (t - prev.t) / 1000);
        }
      }
      if (Object.keys(values).length) charts.net.push(t, values);
    } else if (name === "diskdrives") {
      const values: Record<string, number> = {};
      for (const drive of data || []) for (const part of drive.partitions || []) values[part.mountPoint || drive.name] = part.usedPercent;
      charts.disk.push(t, values);
    }
  });

  return () => {
    stop();
    window.clearInterval(ticker);
    Object.values(charts).forEach((c) => c.destroy());
  };
}
