// Telemetry: per GPU, temperature and utilisation over the last hour; per host, the BMC's fans
// (speed, duty, hottest sensor over the last hour, and the latest reading of every host).
import type { PageProps } from '../app';
import { api, enc } from '../api';
import { LineChart } from '../components/chart';
import { Empty, ErrorBox, Loadable, Loading, PageHeader, Section, TempBadge } from '../components/ui';
import { age, mib, num } from '../format';
import { navigate, useNow, usePoll } from '../hooks';
import type { FanSample, HostTelemetry, Host, Page } from '../types';

const HOUR = 3600 * 1000;

export function TelemetryPage(props: PageProps) {
  const now = useNow(5000);
  const hosts = usePoll((signal) => api.get<Page<Host>>('/hosts', { signal }), 15000, [], { on: ['host.'] });
  const names = (hosts.data?.items ?? []).map((h) => h.name);
  const selected = props.params.get('host') || names[0] || '';
  const telemetry = usePoll(
    (signal) => api.get<HostTelemetry>(`/hosts/${enc(selected)}/telemetry`, { signal }),
    10000,
    [selected],
    { enabled: selected !== '' },
  );
  const fans = usePoll(
    (signal) => Promise.all(names.map((h) => api.get<HostTelemetry>(`/hosts/${enc(h)}/telemetry`, { signal }).catch(() => null))),
    15000,
    [names.join(',')],
    { enabled: names.length > 0 },
  );

  return (
    <>
      <PageHeader title="Telemetry" subtitle="GPU temperature and utilisation over the last hour; fans per host">
        {names.length > 0 && (
          <div class="field inline-field">
            <label for="telemetry-host">Host</label>
            <select id="telemetry-host" value={selected}
              onChange={(e) => navigate('/telemetry', { host: (e.target as HTMLSelectElement).value })}>
              {names.map((n) => <option key={n} value={n}>{n}</option>)}
            </select>
          </div>
        )}
      </PageHeader>
      <ErrorBox error={hosts.error} />
      {!hosts.data ? (hosts.error ? null : <Loading what="hosts" />) : names.length === 0 ? <Empty>No hosts.</Empty> : (
        <Section title={`GPUs of ${selected}`} id="gpu-charts">
          <Loadable data={telemetry.data} error={telemetry.error} what="telemetry">
            {(t) => t.gpus.length === 0 ? <Empty>No GPU readings from {selected} yet.</Empty> : (
              <div class="chart-grid">
                {t.gpus.map((g) => {
                  const points = g.samples.map((s) => ({ t: Date.parse(s.time), ...s }));
                  return (
                    <div class="gpu-charts" key={g.gpu}>
                      <h3>
                        {g.board} <code>{g.gpu}</code> <TempBadge celsius={g.latest?.temperature_c} />
                        {g.latest?.lost && <span class="badge badge-bad">lost (Xid {g.latest.xid ?? 79})</span>}
                      </h3>
                      <p class="muted small">
                        {num(g.latest?.power_w, 0, ' W')} · framebuffer {mib(g.latest?.framebuffer_used_mib)} of {mib(g.latest?.framebuffer_total_mib)} · last reading {age(g.latest?.time, now)}
                      </p>
                      <LineChart title="Temperature" unit=" °C" tone="temp" now={now} windowMs={HOUR}
                        points={points.map((p) => ({ t: p.t, v: p.temperature_c }))} />
                      <LineChart title="Utilisation" unit=" %" tone="util" now={now} windowMs={HOUR} min={0} max={100}
                        points={points.map((p) => ({ t: p.t, v: p.utilisation_pct }))} />
                    </div>
                  );
                })}
              </div>
            )}
          </Loadable>
          {telemetry.data?.bmc?.samples && telemetry.data.bmc.samples.length > 0 && (
            <div class="chart-grid">
              <FanCharts host={selected} samples={telemetry.data.bmc.samples} now={now} />
            </div>
          )}
        </Section>
      )}
      {names.length > 0 && (
        <Section title="Fans per host" id="fans">
          <Loadable data={fans.data} error={fans.error} what="fans">
            {(all) => (
              <div class="table-wrap">
                <table class="table">
                  <thead>
                    <tr><th scope="col">Host</th><th scope="col">Control</th><th scope="col" class="num">Duty</th><th scope="col">Fans</th><th scope="col">BMC temperatures</th><th scope="col">Reading</th></tr>
                  </thead>
                  <tbody>
                    {all.map((t, i) => {
                      const bmc = t?.bmc;
                      return (
                        <tr key={names[i]}>
                          <th scope="row"><a href={`#/telemetry?host=${encodeURIComponent(names[i])}`}>{names[i]}</a></th>
                          <td>{!bmc ? <span class="muted">no BMC reading</span> : bmc.automatic ? 'BMC automatic' : 'manual (gpufleet)'}</td>
                          <td class="num">{bmc && typeof bmc.duty_pct === 'number' && bmc.duty_pct >= 0 ? num(bmc.duty_pct, 0, ' %') : '–'}</td>
                          <td>{bmc?.fans?.length ? `${bmc.fans.length} × ~${num(avg(bmc.fans.map((f) => f.rpm)), 0)} rpm` : '–'}</td>
                          <td>{bmc?.temperatures?.map((x) => `${x.name} ${num(x.celsius, 0)} °C`).join(', ') || '–'}</td>
                          <td>{bmc?.time ? age(bmc.time, now) : '–'}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
          </Loadable>
        </Section>
      )}
    </>
  );
}

// The BMC's last hour: mean fan speed, the duty gpufleet set (manual control only) and the
// hottest sensor it sees.
function FanCharts(props: { host: string; samples: FanSample[]; now: number }) {
  const points = props.samples.map((s) => ({ ...s, t: Date.parse(s.time) }));
  const manual = points.some((p) => typeof p.duty_pct === 'number');
  return (
    <div class="gpu-charts" id="fan-charts">
      <h3>Fans of {props.host}</h3>
      <p class="muted small">{manual ? 'Duty set by gpufleet (manual control)' : 'The BMC controls the fans itself'}</p>
      <LineChart title="Fan speed" unit=" rpm" tone="fan" now={props.now} windowMs={HOUR} min={0}
        points={points.map((p) => ({ t: p.t, v: p.fan_rpm }))} />
      {manual && (
        <LineChart title="Fan duty" unit=" %" tone="fan" now={props.now} windowMs={HOUR} min={0} max={100}
          points={points.map((p) => ({ t: p.t, v: p.duty_pct }))} />
      )}
      <LineChart title="Hottest BMC sensor" unit=" °C" tone="temp" now={props.now} windowMs={HOUR}
        points={points.map((p) => ({ t: p.t, v: p.hottest_c }))} />
    </div>
  );
}

function avg(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}
