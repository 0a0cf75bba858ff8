import { describe, expect, it } from "vitest";
import { SharedValues } from "../../../src/model/shared-values.js";

describe("SharedValues", () => {
  it("builds one value per combination of parts and hands the same one back", () => {
    const shared = new SharedValues<{ text: string }>();
    const entry = { entry: "1.2.3.0/24" };
    let built = 0;
    const build = (text: string) => () => {
      built++;
      return { text };
    };
    const first = shared.get([entry, undefined, 1, false], build("a"));
    expect(shared.get([entry, undefined, 1, false], build("b"))).toBe(first);
    expect(shared.get([{ entry: "1.2.3.0/24" }, undefined, 1, false], build("c")).text).toBe("c");
    expect(shared.get([entry, undefined, 2, false], build("d")).text).toBe("d");
    expect(shared.get([entry, null, 1, false], build("e")).text).toBe("e");
    expect(built).toBe(4);
  });
});
