import { useMemo, useState, type FormEvent } from "react";
import {
  call,
  client,
  type ApiError,
  type InsightDay,
  type Insights as SiteFigures,
  type InsightSort,
  type InsightTotals,
  type OnAuthLost,
  type PostInsight,
} from "../api/client";
import { daysBefore, day, utcToday } from "../dates";
import { useLoad } from "../hooks/useLoad";
import { usePagedList } from "../hooks/usePagedList";
import { money } from "../prices";
import Chart, { type Line } from "./Chart";
import Pager from "./Pager";

/** A period of UTC days, both ends included, as the API takes it. */
interface Period {
  from: string;
  to: string;
}

/** The period shown at first: the 30 days ending today, as the API's own default. */
function lastThirtyDays(): Period {
  const to = utcToday();
  return { from: daysBefore(to, 29), to };
}

/** "Oct 23 – Nov 21, 2026"-like: both days in full. */
const periodText = ({ from, to }: Period) => (from === to ? day(from) : `${day(from)} – ${day(to)}`);

/** A count as people read it: "1,234". */
const count = (n: number) => n.toLocaleString("en-US");

/** A figure's cell in a table: the count as people read it, the number itself in `data-value`. */
function Figure({ field, value, testid }: { field: string; value: number; testid?: string }) {
  return <td data-testid={testid} data-field={field} data-value={value}>{count(value)}</td>;
}

type Count = keyof InsightTotals;

/** The totals, in the order they are shown, with what each one counts. */
const TOTALS: { key: Count; label: string; hint: string }[] = [
  { key: "members", label: "Members", hint: "accounts at the end of the period" },
  { key: "premium_members", label: "Premium members", hint: "premium accounts at the end of the period" },
  { key: "registrations", label: "Registrations", hint: "accounts created, any way" },
  { key: "conversions", label: "Conversions", hint: "plans that became premium" },
  { key: "cancellations", label: "Cancellations", hint: "plans that went back to free" },
  { key: "readers", label: "Readers", hint: "readers of each day, added up" },
  { key: "paywall_hits", label: "Paywall hits", hint: "a reader stopped at a post, once a day" },
  { key: "gift_readers", label: "Gift readers", hint: "a gift link opened by a reader, once a day" },
];

/** The columns of the per-post table, each a `sort` of GET /insights/posts. */
const POST_COLUMNS: { key: InsightSort; label: string }[] = [
  { key: "readers", label: "Readers" },
  { key: "paywall_hits", label: "Paywall hits" },
  { key: "conversions", label: "Conversions" },
  { key: "registrations", label: "Registrations" },
  { key: "gift_readers", label: "Gift readers" },
];

/** The columns of the table of days (below the charts, for screen readers and a closer look). */
const DAY_COLUMNS: { key: Exclude<keyof InsightDay, "date">; label: string }[] = [
  { key: "registrations", label: "Registrations" },
  { key: "conversions", label: "Conversions" },
  { key: "cancellations", label: "Cancellations" },
  { key: "members", label: "Members" },
  { key: "premium_members", label: "Premium" },
  { key: "readers", label: "Readers" },
  { key: "paywall_hits", label: "Paywall hits" },
  { key: "gift_readers", label: "Gift readers" },
];

// The charts' colours: the app's blue and green, an amber for the paywall, a violet for gifts.
const BLUE = "#2456c7";
const GREEN = "#1e7b34";
const AMBER = "#d99a00";
const VIOLET = "#7b3fb0";

// Insights: GET /insights (admins: the whole site, day by day, with the
// totals and the monthly recurring revenue) and GET /insights/posts (each
// post's figures: an admin's every post, an author's their own), over a
// period of UTC days picked with two date inputs. The server refuses a
// period it cannot answer (a date after the other, more than 366 days):
// its 422 sentence is shown by the inputs, and each part of the page keeps
// saying which period its figures are for.
export default function Insights({ site, onAuthLost }: {
  /** The caller is an admin: the whole site's figures too, and every post. */
  site: boolean;
  onAuthLost: OnAuthLost;
}) {
  const [period, setPeriod] = useState<Period>(lastThirtyDays);
  const [sort, setSort] = useState<InsightSort>("readers");
  // An author is never shown the site's figures, so never asks for them (403).
  const whole = useLoad(
    () => (site ? call(client.GET("/insights", { params: { query: period } })) : Promise.resolve(null)),
    [site, period],
    onAuthLost,
  );
  // Each page of posts keeps the period and the order it was asked with, so
  // the table says what it shows even after a period is refused.
  const posts = usePagedList(
    async (paging) => ({
      ...(await call(client.GET("/insights/posts", { params: { query: { ...period, sort, ...paging } } }))),
      period,
      sort,
    }),
    [period, sort],
    onAuthLost,
  );

  function show(next: Period) {
    setPeriod(next);
    posts.setPage(1);
  }

  function sortBy(key: InsightSort) {
    setSort(key);
    posts.setPage(1);
  }

  // A 422 from either: the period was refused (the page sends nothing else a person typed).
  const refused = [whole.error, posts.error].find((e) => e?.status === 422) ?? null;
  const other = (e: ApiError | null) => (e && e.status !== 422 ? e : null);

  return (
    <section className="insights" data-testid="insights" data-scope={site ? "site" : "posts"}>
      <h2>{site ? "Admin · Insights" : "My posts · Insights"}</h2>
      <PeriodForm period={period} refused={refused} onShow={show} />
      {site && <SiteSection figures={whole.data} error={other(whole.error)} loading={whole.loading} />}
      <section className="post-insights" data-testid="post-insights" aria-busy={posts.loading}
        data-from={posts.data?.period.from} data-to={posts.data?.period.to} data-sort={posts.data?.sort}
        data-page={posts.data?.page}>
        <h3>
          {site ? "Posts" : "Your posts"}
          {posts.data && <span className="tag" data-testid="post-insights-period"> · {periodText(posts.data.period)}</span>}
        </h3>
        {other(posts.error) && <p className="error" data-testid="post-insights-error">{posts.error?.message}</p>}
        {!posts.data ? (
          !posts.error && <p>Loading the posts' figures…</p>
        ) : posts.data.posts.length === 0 ? (
          <p className="hint" data-testid="post-insights-empty">{site ? "No posts yet." : "You have no posts yet."}</p>
        ) : (
          <PostTable data={posts.data} sort={sort} site={site} onSort={sortBy} />
        )}
        <Pager paging={posts} previous="← Previous" next="Next →" />
        <p className="hint">
          Readers: people who read the post, each counted once in the period (opening a gift is not a read).
          Paywall hits and gift readers: counted once a day for each reader. Conversions: readers who subscribed
          in the period, each credited to the post that last stopped them at the paywall in the 30 days before, or
          else to the post of the last gift they opened. Registrations: accounts made in a browser that had opened
          a gift of the post in the 30 days before.
        </p>
      </section>
    </section>
  );
}

/** The two date inputs; "Show" asks for the period typed, and the server's refusal is shown here. */
function PeriodForm({ period, refused, onShow }: {
  period: Period;
  refused: ApiError | null;
  onShow: (period: Period) => void;
}) {
  const [from, setFrom] = useState(period.from);
  const [to, setTo] = useState(period.to);

  function submit(event: FormEvent) {
    event.preventDefault();
    onShow({ from, to });
  }

  // The server's words for each date it blames, after its sentence; the inputs it blames are marked.
  const blamed = refused?.fields ?? {};
  const invalid = (field: string) => (blamed[field] ? { "aria-invalid": true, "aria-describedby": "insights-period-error" } : {});
  return (
    <form className="period" onSubmit={submit} aria-label="Period" data-testid="insights-period-form">
      <div className="field">
        <label htmlFor="insights-from">From</label>
        <input id="insights-from" data-testid="insights-from" type="date" required value={from} {...invalid("from")}
          onChange={(e) => setFrom(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="insights-to">To</label>
        <input id="insights-to" data-testid="insights-to" type="date" required value={to} {...invalid("to")}
          onChange={(e) => setTo(e.target.value)} />
      </div>
      <button type="submit" data-testid="insights-show">Show</button>
      <span className="hint">UTC days, both included; at most 366.</span>
      {refused && (
        <p className="error" role="alert" id="insights-period-error" data-testid="insights-period-error" data-code={refused.code}>
          {refused.message}
          {Object.entries(blamed).map(([field, what]) => (
            <span key={field} data-testid={`insights-error-${field}`}> {FIELD_NAMES[field] ?? field}: {what}.</span>
          ))}
        </p>
      )}
    </form>
  );
}

/** What the form calls the query fields a 422 may blame. */
const FIELD_NAMES: Record<string, string | undefined> = { from: "From", to: "To" };

/** GET /insights: the totals, the revenue, the charts and the table of days. */
function SiteSection({ figures, error, loading }: {
  figures: SiteFigures | null;
  error: ApiError | null;
  loading: boolean;
}) {
  const charts = useMemo(() => figures && chartLines(figures.days), [figures]);
  return (
    <section className="site-insights" data-testid="insights-site" aria-busy={loading}
      data-from={figures?.from} data-to={figures?.to}>
      <h3>
        The whole site
        {figures && <span className="tag" data-testid="insights-site-period"> · {periodText(figures)}</span>}
      </h3>
      {error && <p className="error" data-testid="insights-error">{error.message}</p>}
      {!figures || !charts ? (
        !error && <p>Loading the site's figures…</p>
      ) : (
        <>
          <dl className="totals" data-testid="insights-totals">
            {TOTALS.map((t) => (
              <div key={t.key} className="total">
                <dt>{t.label}</dt>
                <dd data-testid={`insights-total-${t.key}`} data-value={figures.totals[t.key]}>
                  {count(figures.totals[t.key])}
                </dd>
                <dd className="hint">{t.hint}</dd>
              </div>
            ))}
            <div className="total">
              <dt>Monthly recurring revenue</dt>
              {figures.mrr ? (
                <dd data-testid="insights-mrr" data-amount={figures.mrr.amount} data-currency={figures.mrr.currency}>
                  {money(figures.mrr.amount, figures.mrr.currency)}
                </dd>
              ) : (
                <dd data-testid="insights-mrr" data-billing="off">—</dd>
              )}
              <dd className="hint">{figures.mrr ? `at the end of ${day(figures.to)}` : "billing is off"}</dd>
            </div>
          </dl>
          <div className="charts">
            <Chart testid="insights-chart-members" kind="line" days={charts.days} lines={charts.members}
              caption="Members" unit="Members" label="Members and premium members at the end of each day" />
            <Chart testid="insights-chart-signups" kind="bars" days={charts.days} lines={charts.signups}
              caption="Registrations and conversions" unit="Accounts a day" label="Registrations and conversions per day" />
            <Chart testid="insights-chart-reading" kind="line" days={charts.days} lines={charts.reading}
              caption="Reading" unit="Readers a day" label="Readers, paywall hits and gift readers per day" />
          </div>
          <details className="days">
            <summary>The figures day by day</summary>
            {/* Focusable, so that a keyboard scrolls it too when it is wider than the page. */}
            <div className="scroll" tabIndex={0} role="region" aria-label="The figures day by day">
              <table className="figures" data-testid="insights-days">
                <caption className="visually-hidden">The whole site's figures by UTC day, oldest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Day</th>
                    {DAY_COLUMNS.map((c) => <th key={c.key} scope="col">{c.label}</th>)}
                  </tr>
                </thead>
                <tbody>
                  {figures.days.map((d) => (
                    <tr key={d.date} data-testid="insights-day" data-date={d.date}>
                      <th scope="row">{day(d.date)}</th>
                      {DAY_COLUMNS.map((c) => <Figure key={c.key} field={c.key} value={d[c.key]} />)}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </section>
  );
}

/** The charts' lines, made once per answer (a chart draws again when its lines change). */
function chartLines(days: InsightDay[]): { days: string[]; members: Line[]; signups: Line[]; reading: Line[] } {
  const of = (key: keyof Omit<InsightDay, "date">) => days.map((d) => d[key]);
  return {
    days: days.map((d) => d.date),
    members: [
      { label: "Members", color: BLUE, values: of("members") },
      { label: "Premium members", color: GREEN, values: of("premium_members") },
    ],
    signups: [
      { label: "Registrations", color: BLUE, values: of("registrations") },
      { label: "Conversions", color: GREEN, values: of("conversions") },
    ],
    reading: [
      { label: "Readers", color: BLUE, values: of("readers") },
      { label: "Paywall hits", color: AMBER, values: of("paywall_hits") },
      { label: "Gift readers", color: VIOLET, values: of("gift_readers") },
    ],
  };
}

/** The per-post table: each figure's header orders the rows by it (on the server), largest first. */
function PostTable({ data, sort, site, onSort }: {
  data: { posts: PostInsight[] };
  sort: InsightSort;
  site: boolean;
  onSort: (key: InsightSort) => void;
}) {
  return (
    <div className="scroll" tabIndex={0} role="region" aria-label="Each post's figures">
      <table className="figures" data-testid="post-insights-table">
        <caption className="visually-hidden">Each post's figures, largest first by the column chosen</caption>
        <thead>
          <tr>
            <th scope="col">Post</th>
            {POST_COLUMNS.map((c) => (
              <th key={c.key} scope="col" aria-sort={c.key === sort ? "descending" : undefined}>
                <button type="button" className={c.key === sort ? "sorted" : ""} data-testid={`post-insights-sort-${c.key}`}
                  title={`Largest ${c.label.toLowerCase()} first`} onClick={() => onSort(c.key)}>
                  {c.label}
                  <span aria-hidden="true" className="arrow">{c.key === sort ? " ↓" : ""}</span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.posts.map(({ post, ...figures }) => (
            <tr key={post.id} data-testid="post-insight-row" data-id={post.id} data-slug={post.slug}>
              <th scope="row" data-testid={`post-insight-${post.id}-title`}>
                {post.title}
                {site && post.author && <span className="tag">by {post.author.username}</span>}
              </th>
              {POST_COLUMNS.map((c) => (
                <Figure key={c.key} field={c.key} value={figures[c.key]} testid={`post-insight-${post.id}-${c.key}`} />
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
