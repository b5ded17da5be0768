// What the root finds wrong now (GET /api/alerts): severity, state, summary, labels, since when.
import { api } from '../api';
import { usePoll } from '../hooks';
import { epochSeconds, parseAlerts } from '../infra';
import { ErrorNotice, formatTime } from './ui';

export function Alerts() {
  const alerts = usePoll(async () => parseAlerts(await api('/api/alerts')), 5000, []);
  const list = alerts.data ?? [];
  return (
    <section class="card alerts" aria-label="Alerts">
      <header>
        <h2>Alerts</h2>
        {list.length > 0 && <span class="muted small">{list.filter((a) => a.state === 'firing').length} firing</span>}
      </header>
      <ErrorNotice error={alerts.error} />
      {alerts.data && list.length === 0 && <p class="muted">No active alerts.</p>}
      {list.length > 0 && (
        <table class="list compact">
          <tbody>
            {list.map((a, i) => (
              <tr key={`${a.name}${i}`} data-alert={a.name}>
                <td>
                  <span class={`badge tone-${a.severity === 'critical' ? 'bad' : 'work'}`}>{a.severity}</span>
                </td>
                <td>{a.state === 'firing' ? 'firing' : 'pending'}</td>
                <td>
                  <strong>{a.name}</strong>
                  <div>{a.summary}</div>
                  {Object.entries(a.labels).map(([k, v]) => (
                    <span key={k} class="chip">
                      {k}={v}
                    </span>
                  ))}
                </td>
                <td class="muted small">since {formatTime(epochSeconds(a.active_since))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
