import parsePrometheusTextFormat from "parse-prometheus-text-format";

export interface Series {
  type: string;
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

/** The exposition text read by a Prometheus text-format parser: each family's type and samples, by name. */
export function parseExposition(text: string): Map<string, Series> {
  return new Map(
    parsePrometheusTextFormat(text).map((family) => [
      family.name,
      { type: family.type.toLowerCase(), samples: family.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })) },
    ]),
  );
}

/** The value of one sample, found by its labels. */
export function sample(series: Map<string, Series>, name: string, labels: Record<string, string> = {}): number | undefined {
  return series.get(name)?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
}
