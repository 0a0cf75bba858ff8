import { parseEntries } from "../../../src/haproxy/entries-reader.js";
import { describe, expect, it } from "vitest";
import {
  commands,
  mapPayloadCommands,
  parseInfoProcess,
  parseInfoVersion,
  parseListing,
  parseMatch,
  parsePreparedVersion,
  parseResponse,
  renderListFile,
  sameEntries,
  supportsTransactions,
} from "../../../src/haproxy/protocol.js";
import { HaproxyError } from "../../../src/errors.js";
import { parseTarget } from "../../../src/model/target.js";
import { Scrubber } from "../../../src/util/secrets.js";

describe("parseResponse", () => {
  it.each([
    ["", { text: "", isError: false }],
    ["\n", { text: "", isError: false }],
    ["[6]: New version created: 3\n", { severity: 6, text: "New version created: 3", isError: false }],
    ["[3]: Unknown map identifier.\n", { severity: 3, text: "Unknown map identifier.", isError: true }],
    ["+ + + \n", { text: "", isError: false }],
    ["+ + [3]: 'add map' failed\n", { severity: 3, text: "'add map' failed", isError: true }],
    ["0x55 1.2.3.4 travis\n", { text: "0x55 1.2.3.4 travis", isError: false }],
  ])("%j", (raw, expected) => {
    expect(parseResponse(raw)).toEqual(expected);
  });
});

describe("parseListing", () => {
  it("reads ids and files and skips the header", () => {
    const text = [
      "# id (file) description",
      "0 (/etc/haproxy/travis.map) pattern loaded from file '/etc/haproxy/travis.map' used by map at file 'h.cfg' line 10. curr_ver=0 next_ver=0 entry_cnt=2",
      "1 () pattern loaded at file 'h.cfg' line 12",
    ].join("\n");
    expect(parseListing(text).map((l) => [l.id, l.file])).toEqual([
      ["0", "/etc/haproxy/travis.map"],
      ["1", ""],
    ]);
  });

  it("throws a typed error on garbage", () => {
    expect(() => parseListing("hello world")).toThrow(expect.objectContaining({ code: "E_HAPROXY_PROTOCOL" }));
  });

  it.each([
    ["parseListing", () => parseListing("hello world")],
    ["parseEntries", () => parseEntries("map", "garbage line")],
    ["parseMatch", () => parseMatch("map", "1.2.3.4", "Unknown map identifier")],
    ["parseInfoVersion", () => parseInfoVersion("Name: HAProxy\n")],
    ["parsePreparedVersion", () => parsePreparedVersion("done")],
  ])("%s raises the one class for E_HAPROXY_*: a HaproxyError, without a target (the instance adds it)", (_name, parse) => {
    let error: unknown;
    try {
      parse();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(HaproxyError);
    expect(error).toMatchObject({ code: "E_HAPROXY_PROTOCOL", target: undefined });
    const named = (error as HaproxyError).at("unix:///run/haproxy/admin.sock");
    expect(named).toMatchObject({ code: "E_HAPROXY_PROTOCOL", target: "unix:///run/haproxy/admin.sock" });
    expect(named.message).toBe(`unix:///run/haproxy/admin.sock: ${(error as Error).message}`);
    expect(named.at("tcp://other:9999")).toBe(named);
  });
});

describe("parseEntries", () => {
  it.each([
    [
      "map",
      "0x1 1.2.3.4 travis\n0x2 10.0.0.0/8 other team",
      [
        { ref: "0x1", key: "1.2.3.4", value: "travis" },
        { ref: "0x2", key: "10.0.0.0/8", value: "other team" },
      ],
    ],
    [
      "acl",
      "0x1 1.2.3.4\n0x2 2001:db8::/32",
      [
        { ref: "0x1", key: "1.2.3.4" },
        { ref: "0x2", key: "2001:db8::/32" },
      ],
    ],
    ["map", "", []],
  ] as const)("%s: %j", (kind, text, expected) => {
    expect(parseEntries(kind, text)).toEqual(expected);
  });

  it.each([
    ["map", "0x1 1.2.3.4"],
    ["map", "garbage line"],
    ["acl", "1.2.3.4"],
  ] as const)("%s refuses %j", (kind, text) => {
    expect(() => parseEntries(kind, text)).toThrow(expect.objectContaining({ code: "E_HAPROXY_PROTOCOL" }));
  });
});

describe("versions", () => {
  it.each([
    ["2.6.12-1+deb12u4", true],
    ["2.4.0", true],
    ["3.4.0", true],
    ["2.3.9", false],
    ["1.8.30", false],
    ["weird", false],
  ])("%s transactional: %s", (version, expected) => expect(supportsTransactions(version)).toBe(expected));

  it("reads show info and prepare replies", () => {
    expect(parseInfoVersion("Name: HAProxy\nVersion: 3.4.0\nRelease_date: x")).toBe("3.4.0");
    expect(parsePreparedVersion("New version created: 12")).toBe(12);
    expect(() => parsePreparedVersion("nope")).toThrow();
  });
});

describe("commands refuse anything that could inject a runtime command", () => {
  it.each(["1.2.3.4;clear map /m", "1.2.3.4\nclear map /m", "1.2.3.4 <<", "1.2.3.4 travis", "<<", "", "not-an-address"])("key %j", (key) => {
    expect(() => commands.addAcl("/m.acl", key)).toThrow(expect.objectContaining({ code: "E_UNSAFE_TEXT" }));
    expect(() => mapPayloadCommands("/m.map", [{ key, value: "travis" }], 1)).toThrow(expect.objectContaining({ code: "E_UNSAFE_TEXT" }));
  });

  it.each(["/m.map;show info", "/m map", "/m\nmap"])("file %j", (file) => {
    expect(() => commands.show("map", file)).toThrow(expect.objectContaining({ code: "E_UNSAFE_TEXT" }));
  });

  it.each(["travis\nclear map /m", "", " travis"])("map value %j", (value) => {
    expect(() => mapPayloadCommands("/m.map", [{ key: "1.2.3.4/32", value }], 1)).toThrow(expect.objectContaining({ code: "E_UNSAFE_TEXT" }));
  });

  it("builds the exact command text", () => {
    expect(commands.addAcl("/m.acl", "1.2.3.4/32", 4)).toBe("add acl @4 /m.acl 1.2.3.4/32");
    expect(commands.commit("map", "/m.map", 4)).toBe("commit map @4 /m.map");
    expect(commands.deleteRef("map", "/m.map", "0x55d0")).toBe("del map /m.map #0x55d0");
    expect(
      mapPayloadCommands(
        "/m.map",
        [
          { key: "1.2.3.4/32", value: "travis" },
          { key: "10.0.0.0/8", value: "other team" },
        ],
        2,
      ),
    ).toEqual(["add map @2 /m.map <<\n1.2.3.4/32 travis\n10.0.0.0/8 other team\n"]);
  });
});

describe("mapPayloadCommands", () => {
  it("splits into chunks under the limit without losing or reordering entries", () => {
    const entries = Array.from({ length: 3000 }, (_, i) => ({ key: `10.${i >> 8}.${i & 255}.0/24`, value: "travis" }));
    const chunks = mapPayloadCommands("/etc/haproxy/maps/travis.map", entries, 7, 8000);
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(chunk.length + 1).toBeLessThanOrEqual(8000);
    const lines = chunks.flatMap((c) => c.split("\n").slice(1, -1));
    expect(lines).toEqual(entries.map((e) => `${e.key} ${e.value}`));
  });
});

describe("sameEntries", () => {
  it("compares as multisets", () => {
    const a = [
      { key: "1.2.3.4", value: "x" },
      { key: "1.2.3.4", value: "x" },
    ];
    expect(sameEntries(a, [...a].reverse()).equal).toBe(true);
    const result = sameEntries([{ key: "1.2.3.4", value: "x" }], a);
    expect(result).toEqual({ equal: false, missing: ["1.2.3.4 x"], unexpected: [] });
  });
});

describe("parseTarget", () => {
  it.each([
    ["unix:///run/haproxy/admin.sock", { kind: "unix", path: "/run/haproxy/admin.sock" }],
    ["tcp://127.0.0.1:9999", { kind: "tcp", host: "127.0.0.1", port: 9999 }],
    ["tcp://[::1]:9999", { kind: "tcp", host: "::1", port: 9999 }],
    ["tcp://haproxy-0.haproxy:9999", { kind: "tcp", host: "haproxy-0.haproxy", port: 9999 }],
    ["tls://haproxy-runtime:9999", { kind: "tls", host: "haproxy-runtime", port: 9999 }],
    ["tls://[2001:db8::5]:9999", { kind: "tls", host: "2001:db8::5", port: 9999 }],
    ["tls://haproxy-runtime", undefined],
    ["tcp://127.0.0.1:0", undefined],
    ["unix://relative.sock", undefined],
    ["http://127.0.0.1:9999", undefined],
  ])("%s", (text, expected) => expect(parseTarget(text)).toEqual(expected));
});

describe("list counters and file text", () => {
  it("reads curr_ver, next_ver and entry_cnt when HAProxy prints them", () => {
    const [list] = parseListing("0 (/m.map) pattern loaded from file '/m.map' used by map at file 'h.cfg' line 10. curr_ver=3 next_ver=4 entry_cnt=55");
    expect(list).toMatchObject({ currentVersion: 3, nextVersion: 4, entryCount: 55 });
  });

  it("renders the file HAProxy would load", () => {
    expect(
      renderListFile([
        { key: "10.0.0.0/8", value: "office team" },
        { key: "1.2.3.4/32", value: "travis" },
      ]),
    ).toBe("10.0.0.0/8 office team\n1.2.3.4/32 travis\n");
    expect(renderListFile([{ key: "1.2.3.4/32" }])).toBe("1.2.3.4/32\n");
  });
});

describe("parseMatch", () => {
  it.each([
    {
      kind: "map" as const,
      text: 'type=ip, case=sensitive, found=yes, idx=tree, key="1.2.3.0/24", value="travis", type="str"',
      expected: { address: "1.2.3.4", found: true, key: "1.2.3.0/24", value: "travis" },
    },
    { kind: "map" as const, text: "type=ip, case=sensitive, found=no", expected: { address: "1.2.3.4", found: false, key: null, value: null } },
    {
      kind: "acl" as const,
      text: 'type=ip, case=sensitive, match=yes, idx=tree, pattern="1.2.3.4"',
      expected: { address: "1.2.3.4", found: true, key: "1.2.3.4", value: null },
    },
    { kind: "acl" as const, text: "type=ip, case=sensitive, match=no", expected: { address: "1.2.3.4", found: false, key: null, value: null } },
    {
      kind: "map" as const,
      text: 'type=ip, case=sensitive, found=yes, idx=tree, key="::ffff:0:0/96", value="two words \\"quoted\\"", type="str"',
      expected: { address: "1.2.3.4", found: true, key: "::ffff:0:0/96", value: 'two words \\"quoted\\"' },
    },
  ])("$kind: $text", ({ kind, text, expected }) => {
    expect(parseMatch(kind, "1.2.3.4", text)).toEqual(expected);
  });

  it("an unknown reply is a protocol error, not a guess", () => {
    expect(() => parseMatch("map", "1.2.3.4", "Unknown map identifier")).toThrow(expect.objectContaining({ code: "E_HAPROXY_PROTOCOL" }));
  });

  it.each(["1.2.3.4/32", "1.2.3.4;show info", "1.2.3.4\nclear map x", ""])("refuses to ask about %j", (address) => {
    expect(() => commands.match("map", "/etc/haproxy/travis.map", address)).toThrow(expect.objectContaining({ code: "E_UNSAFE_TEXT" }));
  });
});

describe("parseInfoProcess", () => {
  it.each([
    ["Name: HAProxy\nVersion: 2.6.12\nPid: 19202\nUptime_sec: 0\nStart_time_sec: 1795932609\n", "19202@1795932609"],
    ["Version: 3.4.0\nPid: 1\nStart_time_sec: 1795932610\n", "1@1795932610"],
    ["Version: 2.0.0\nPid: 7\n", undefined],
  ])("%j is %s", (text, expected) => expect(parseInfoProcess(text)).toBe(expected));
});

describe("a runtime reply is scrubbed whole before it is cut for a message", () => {
  it("a secret across the 200-character cut leaves no prefix behind", () => {
    const secret = "mapname-secret-9e8d7c";
    const scrubber = new Scrubber([secret]);
    const reply = `${"z".repeat(190)}${secret}`;
    expect(() => parseMatch("map", "34.66.25.221", reply, scrubber)).toThrow(expect.objectContaining({ message: expect.stringMatching(/z{190}\*\*\*"$/) }));
    expect(() => parseMatch("map", "34.66.25.221", reply, scrubber)).not.toThrow(expect.objectContaining({ message: expect.stringContaining("mapn") }));
  });
});
