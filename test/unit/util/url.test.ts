import { describe, expect, it } from "vitest";
import { headersWithUrlAuth, redactUrl, urlSecrets, withBasicAuth } from "../../../src/util/url.js";

const basic = (credentials: string) => `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`;

describe("withBasicAuth", () => {
  it("takes the credentials out of the URL and returns them percent-decoded as Basic auth", () => {
    expect(withBasicAuth("https://bob:p%40ss%20w%C3%B6rd@feed.example:8443/x?y=1")).toEqual({
      url: "https://feed.example:8443/x?y=1",
      authorization: basic("bob:p@ss wörd"),
    });
    expect(withBasicAuth("https://tok3n@feed.example/x")).toEqual({ url: "https://feed.example/x", authorization: basic("tok3n:") });
  });

  it("leaves a URL without credentials as it is", () => {
    expect(withBasicAuth("https://feed.example/x?token=1")).toEqual({ url: "https://feed.example/x?token=1" });
  });

  it("a configured Authorization header wins over the URL's credentials", () => {
    expect(headersWithUrlAuth({ Authorization: "Bearer t" }, basic("a:b"))).toEqual({ Authorization: "Bearer t" });
    expect(headersWithUrlAuth({ "X-Key": "k" }, basic("a:b"))).toEqual({ "X-Key": "k", authorization: basic("a:b") });
    expect(headersWithUrlAuth(undefined, undefined)).toEqual({});
  });
});

describe("urlSecrets: the literal parts redactUrl hides that read as tokens", () => {
  it("path segments that do not read as names, never plain words", () => {
    const url = "https://hooks.slack.com/services/T0AAAA/B0BBBB/xoxb2Q7literal9";
    expect(redactUrl(url)).toBe("https://hooks.slack.com/services/***");
    expect(urlSecrets(url).sort()).toEqual(["B0BBBB", "T0AAAA", "xoxb2Q7literal9"]);
  });

  it("query values that do not read as names, or whose parameter names a credential", () => {
    const found = urlSecrets("https://feed.example/ip-ranges.json?format=json&access_token=plainwordtoken&apiKey=alsoplain&k=Zz9-abc1234&v=a%2Fb%2B9c");
    expect(found).toEqual(expect.arrayContaining(["plainwordtoken", "alsoplain", "Zz9-abc1234", "a%2Fb%2B9c", "a/b+9c"]));
    expect(found).not.toContain("json");
    expect(found).not.toContain("ip-ranges.json");
  });

  it("the password, a user name that reads as a token, and the Basic credentials made of them", () => {
    expect(urlSecrets("https://x-access-token:ghp_Literal0123@git.example/")).toEqual(
      expect.arrayContaining(["ghp_Literal0123", Buffer.from("x-access-token:ghp_Literal0123").toString("base64")]),
    );
    expect(urlSecrets("https://x-access-token:ghp_Literal0123@git.example/")).not.toContain("x-access-token");
    expect(urlSecrets("https://u:p%40ss-word@h/")).toEqual(expect.arrayContaining(["p%40ss-word", "p@ss-word"]));
  });

  it("nothing from a URL of names only, or from text that is not a URL", () => {
    expect(urlSecrets("https://dnsjson.com/nat.travisci.net/A.json")).toEqual([]);
    expect(urlSecrets("not a url")).toEqual([]);
  });
});
