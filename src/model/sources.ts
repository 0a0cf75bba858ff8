/** Where desired entries come from: DNS names, an HTTP feed, or entries written in the config. */
export const SOURCE_TYPES = ["dns", "http", "static"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];
