'''A corpus of legitimate agent programs for the differential test (tests/test_interpreter_corpus.py):
each runs under plain CPython and under nbagents' interpreter with the same printed output, final
value (the last statement's, when it is an expression or an assignment) and exception type.

Written for nbagents, in the spirit of smolagents' interpreter tests (short programs of the kind
models write: text and data wrangling, small algorithms, the standard modules agents import), not
taken from them. ``PROGRAMS`` must pass as they are; ``NEW_CONSTRUCTS`` use what issue 17 adds to
the interpreter (annotated assignments, classes, ``with`` on a user-defined context manager, the
``time``/``unicodedata``/``stat`` modules, ``re`` in the kernel).
'''

from __future__ import annotations

PROGRAMS: dict[str, str] = {
    # --- strings --------------------------------------------------------------------------------
    "word_frequencies": """
text = "the cat and the hat and the bat"
counts = {}
for word in text.split():
    counts[word] = counts.get(word, 0) + 1
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
top[:3]
""",
    "string_methods": """
s = "  Hello, World!  "
parts = [s.strip(), s.lower().strip(), s.upper(), s.replace("l", "L"), s.strip().title()]
parts += [s.count("l"), s.find("World"), s.rfind("o"), s.strip().startswith("Hell"), s.endswith("! ")]
parts
""",
    "split_join_partition": """
line = "name=Ada; role=engineer;; year=1843"
fields = [f.strip() for f in line.split(";") if f.strip()]
pairs = dict(f.partition("=")[::2] for f in fields)
", ".join(f"{k}:{v}" for k, v in pairs.items())
""",
    "palindromes": """
def is_palindrome(s):
    clean = "".join(ch.lower() for ch in s if ch.isalnum())
    return clean == clean[::-1]

[w for w in ["Racecar", "A man, a plan, a canal: Panama", "agent", "No lemon, no melon"] if is_palindrome(w)]
""",
    "caesar_cipher": """
def shift(text, k):
    out = []
    for ch in text:
        if ch.isalpha():
            base = ord("A") if ch.isupper() else ord("a")
            out.append(chr((ord(ch) - base + k) % 26 + base))
        else:
            out.append(ch)
    return "".join(out)

secret = shift("Attack at Dawn!", 3)
(secret, shift(secret, -3))
""",
    "string_padding": """
rows = [("apple", 3, 0.5), ("kiwi", 12, 0.25), ("banana", 7, 1.125)]
for name, qty, price in rows:
    print(name.ljust(8) + str(qty).rjust(4) + str(price).center(9, ".") + name.zfill(9))
len(rows)
""",
    "char_classes": """
sample = "Agent-007 says: HI there 42x"
stats = {"digits": sum(c.isdigit() for c in sample), "upper": sum(c.isupper() for c in sample),
         "spaces": sample.count(" "), "alnum_words": [w for w in sample.split() if w.isalnum()]}
stats
""",
    "percent_formatting": """
values = [3.14159, 2.71828, 1.41421]
lines = ["%-6s|%8.3f|%+d|%05.1f|%x" % ("v" + str(i), v, i - 1, v, 255 - i) for i, v in enumerate(values)]
"\\n".join(lines)
""",
    "str_format_method": """
results = ["{} scored {} points ({:.1%} of {})".format(name, pts, pts / total, total)
           for name, pts, total in [("Ann", 42, 50), ("Bo", 7, 9)]]
results + ["{0}-{1}-{0}".format("a", "b"), "{name} is {age}".format(name="Cy", age=3)]
""",
    "fstring_specs": """
pi = 3.14159265
n = 1234567
items = [f"{pi:.2f}", f"{pi:10.4f}|", f"{n:,}", f"{n:_}", f"{255:#x}", f"{255:08b}", f"{0.25:.0%}",
         f"{'left':<8}|", f"{'right':>8}|", f"{'mid':^9}|", f"{-5:+}", f"{n:e}", f"{42!r:>5}", f"{'q'!r}"]
items
""",
    "fstring_nested_expressions": """
data = {"a": [1, 2, 3], "b": [4, 5]}
width = 6
lines = [f"{key.upper():>{width}}: {sum(vals):>{width - 2}} avg={sum(vals) / len(vals):.{2}f}" for key, vals in data.items()]
print(*lines, sep="\\n")
lines
""",
    "bytes_and_encoding": """
word = "naïve café"
encoded = word.encode("utf-8")
(len(word), len(encoded), encoded[:3], encoded.decode("utf-8") == word, list(b"AZ"), bytes([104, 105]).decode())
""",
    # --- lists, dicts, sets ---------------------------------------------------------------------
    "list_operations": """
xs = [5, 3, 8, 1]
xs.append(9)
xs.extend([2, 2])
xs.insert(1, 7)
removed = xs.pop()
xs.remove(8)
(xs, removed, xs.index(9), xs.count(2), sorted(xs), sorted(xs, reverse=True), xs[::-1])
""",
    "dict_operations": """
inventory = {"apples": 3, "pears": 0}
inventory.update(plums=5)
inventory.setdefault("kiwis", 1)
inventory["apples"] += 2
removed = inventory.pop("pears")
missing = inventory.get("grapes", "none")
(inventory, removed, missing, list(inventory), "plums" in inventory, len(inventory))
""",
    "dict_merge_and_views": """
defaults = {"color": "red", "size": "M", "qty": 1}
override = {"size": "L", "qty": 2}
merged = {**defaults, **override}
union = defaults | override
(merged == union, sorted(merged.keys()), sorted(merged.values(), key=str), list(merged.items())[-1])
""",
    "set_algebra": """
a = {1, 2, 3, 4}
b = {3, 4, 5}
result = (sorted(a | b), sorted(a & b), sorted(a - b), sorted(a ^ b), a.issubset(a | b), {1, 2} < a)
result
""",
    "nested_data_aggregation": """
orders = [
    {"id": 1, "customer": "ann", "items": [{"sku": "x", "qty": 2, "price": 3.5}, {"sku": "y", "qty": 1, "price": 10.0}]},
    {"id": 2, "customer": "bob", "items": [{"sku": "x", "qty": 5, "price": 3.5}]},
    {"id": 3, "customer": "ann", "items": []},
]
totals = {}
for order in orders:
    amount = sum(item["qty"] * item["price"] for item in order["items"])
    totals[order["customer"]] = totals.get(order["customer"], 0) + amount
best = max(totals, key=totals.get)
(totals, best)
""",
    "group_by_first_letter": """
words = ["apple", "avocado", "banana", "blueberry", "cherry", "apricot"]
groups = {}
for w in words:
    groups.setdefault(w[0], []).append(w)
{k: sorted(v) for k, v in sorted(groups.items())}
""",
    "matrix_transpose_and_product": """
a = [[1, 2, 3], [4, 5, 6]]
b = [[7, 8], [9, 10], [11, 12]]
transposed = [list(row) for row in zip(*a)]
product = [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]
(transposed, product)
""",
    "flatten_and_dedupe": """
nested = [[3, 1], [2, 3], [], [1, 4, 4]]
flat = [x for sub in nested for x in sub]
seen = set()
unique = [x for x in flat if not (x in seen or seen.add(x))]
(flat, unique, sorted(set(flat)))
""",
    "list_slicing": """
xs = list(range(10))
views = [xs[2:5], xs[:3], xs[-3:], xs[::3], xs[8:2:-2], xs[-1:-4:-1], xs[100:], xs[:-100]]
xs[1:3] = ["a", "b", "c"]
del xs[-2:]
views + [xs]
""",
    "slice_assignment_and_del": """
grid = [[0] * 3 for _ in range(3)]
grid[1][1] = 5
grid[0] = [1, 1, 1]
del grid[2][0]
copy = [row[:] for row in grid]
copy[0][0] = 9
(grid, copy)
""",
    # --- comprehensions -------------------------------------------------------------------------
    "comprehensions_with_conditions": """
nums = range(1, 21)
squares_of_odds = [n * n for n in nums if n % 2 if n % 3]
labels = ["fizzbuzz" if n % 15 == 0 else "fizz" if n % 3 == 0 else "buzz" if n % 5 == 0 else n for n in nums]
(squares_of_odds, labels[:15])
""",
    "nested_comprehensions": """
pairs = [(x, y) for x in range(4) for y in range(x) if (x + y) % 2]
table = {x: {y: x * y for y in range(1, 4)} for x in range(1, 3)}
triangle = [[1] * (i + 1) for i in range(4)]
(pairs, table, triangle)
""",
    "set_and_dict_comprehensions": """
words = ["Data", "data", "Agent", "agent", "tool"]
lowered = {w.lower() for w in words}
lengths = {w: len(w) for w in sorted(lowered)}
inverted = {v: k for k, v in lengths.items()}
(sorted(lowered), lengths, inverted)
""",
    "generator_expressions": """
values = [4, -2, 7, 0, -9, 3]
total = sum(v for v in values if v > 0)
first_negative = next((v for v in values if v < 0), None)
none_found = next((v for v in values if v > 100), "none")
(total, first_negative, none_found, max(abs(v) for v in values), any(v == 0 for v in values), all(v < 10 for v in values))
""",
    # --- unpacking ------------------------------------------------------------------------------
    "starred_unpacking": """
first, *middle, last = [1, 2, 3, 4, 5]
head, *tail = "abc"
*init, end = (10,)
a, (b, c), d = 1, (2, 3), 4
merged = [*middle, *tail, *range(2)]
(first, middle, last, head, tail, init, end, a + b + c + d, merged)
""",
    "swap_and_multiple_assignment": """
a, b = 1, 2
a, b = b, a
x = y = [0]
y.append(1)
i, j = j, i = 3, 4
(a, b, x, i, j)
""",
    "unpacking_in_loops": """
records = [("ann", (31, "Paris")), ("bob", (25, "Oslo"))]
lines = []
for name, (age, city) in records:
    lines.append(f"{name}/{age}/{city}")
for index, (name, _) in enumerate(records, start=1):
    lines.append(f"{index}:{name}")
lines
""",
    # --- functions ------------------------------------------------------------------------------
    "closures_counter": """
def make_counter(start=0, step=1):
    state = {"n": start}
    def tick():
        state["n"] += step
        return state["n"]
    return tick

c1, c2 = make_counter(), make_counter(10, 5)
[c1(), c1(), c2(), c1(), c2()]
""",
    "default_and_keyword_args": """
def describe(name, *tags, sep=", ", upper=False, **extra):
    text = name + ": " + sep.join(tags)
    if extra:
        text += " (" + sep.join(f"{k}={v}" for k, v in sorted(extra.items())) + ")"
    return text.upper() if upper else text

[describe("x"), describe("y", "a", "b"), describe("z", "a", sep="|", upper=True, size=3, color="red")]
""",
    "mutable_default_argument": """
def append_to(item, bucket=[]):
    bucket.append(item)
    return bucket

append_to(1)
append_to(2)
(append_to(3), append_to(4, []))
""",
    "late_binding_lambdas": """
fns = [lambda x, i=i: x + i for i in range(3)]
late = [lambda x: x + i for i in range(3)]
([f(10) for f in fns], [g(10) for g in late])
""",
    "higher_order_functions": """
def compose(*fns):
    def run(x):
        for f in reversed(fns):
            x = f(x)
        return x
    return run

inc = lambda x: x + 1
double = lambda x: x * 2
pipeline = compose(inc, double)
(pipeline(5), list(map(pipeline, [0, 1])), list(filter(lambda v: v % 3 == 0, range(10))), sorted([-3, 1, -2], key=abs))
""",
    "recursion_fibonacci_memo": """
memo = {}
def fib(n):
    if n < 2:
        return n
    if n not in memo:
        memo[n] = fib(n - 1) + fib(n - 2)
    return memo[n]

[fib(n) for n in range(15)] + [fib(80)]
""",
    "recursion_permutations": """
def permutations(items):
    if len(items) <= 1:
        return [items]
    out = []
    for i, item in enumerate(items):
        for rest in permutations(items[:i] + items[i + 1:]):
            out.append([item] + rest)
    return out

perms = permutations([1, 2, 3])
(len(perms), perms[:3])
""",
    "recursion_flatten_tree": """
tree = {"name": "root", "children": [{"name": "a", "children": [{"name": "a1", "children": []}]},
                                     {"name": "b", "children": []}]}
def walk(node, depth=0):
    yield_list = [("  " * depth) + node["name"]]
    for child in node["children"]:
        yield_list.extend(walk(child, depth + 1))
    return yield_list

print("\\n".join(walk(tree)))
len(walk(tree))
""",
    "function_returning_multiple_values": """
def stats(values):
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / n
    return min(values), max(values), mean, var

lo, hi, mean, var = stats([2, 4, 4, 4, 5, 5, 7, 9])
(lo, hi, mean, var)
""",
    # --- control flow ---------------------------------------------------------------------------
    "try_except_else_finally": """
log = []
def divide(a, b):
    try:
        result = a / b
    except ZeroDivisionError as e:
        log.append(f"error: {e}")
        result = None
    else:
        log.append("ok")
    finally:
        log.append("done")
    return result

(divide(6, 3), divide(1, 0), log)
""",
    "exception_hierarchy_and_reraise": """
def parse(value):
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        return str(error)[:20]

def checked(value):
    try:
        if value < 0:
            raise ValueError(f"negative: {value}")
        return value
    except ValueError:
        return -1

[parse("12"), parse("x1"), parse(None), checked(5), checked(-3)]
""",
    "raise_from_and_nested_try": """
events = []
try:
    try:
        {}["missing"]
    except KeyError as inner:
        events.append("inner " + repr(inner))
        raise RuntimeError("wrapped") from inner
except RuntimeError as outer:
    events.append("outer " + str(outer))
events
""",
    "exception_caught_by_base_class": """
results = []
for bad in ["1/0", "[][3]", "{}['k']", "int('z')"]:
    try:
        if bad == "1/0":
            1 / 0
        elif bad == "[][3]":
            [][3]
        elif bad == "{}['k']":
            {}["k"]
        else:
            int("z")
    except ArithmeticError:
        results.append("arith")
    except LookupError as e:
        results.append("lookup:" + str(e))
    except Exception:
        results.append("other")
results
""",
    "while_else_and_break": """
def first_divisor(n):
    d = 2
    while d * d <= n:
        if n % d == 0:
            break
        d += 1
    else:
        return None
    return d

[first_divisor(n) for n in [15, 17, 49, 97, 2]]
""",
    "for_else_search": """
def find(items, target):
    for index, item in enumerate(items):
        if item == target:
            found = index
            break
    else:
        found = -1
    return found

(find("abcdef", "d"), find("abc", "z"), find([], 1))
""",
    "continue_and_nested_loops": """
out = []
for i in range(5):
    if i == 1:
        continue
    for j in range(5):
        if j > i:
            break
        if (i + j) % 2:
            continue
        out.append((i, j))
out
""",
    "walrus_in_loops_and_comprehensions": """
data = [3, 8, 1, 9, 4]
chunks = []
while (n := len(data)) > 2:
    chunks.append(data.pop())
big = [y for x in range(6) if (y := x * x) > 5]
(chunks, n, big, y)
""",
    "chained_comparisons": """
def grade(score):
    if 90 <= score <= 100:
        return "A"
    elif 75 <= score < 90:
        return "B"
    elif 0 <= score < 75:
        return "C"
    return "?"

[grade(s) for s in [95, 90, 89.5, 75, 12, -1, 101]] + [1 < 2 < 3 > 2, 1 == 1.0 != 2, "a" < "b" <= "b"]
""",
    "conditional_expressions_and_boolean_values": """
values = [0, 1, "", "x", [], [0], None, 0.0]
truthy = [bool(v) for v in values]
picked = [v or "default" for v in values]
both = [v and "yes" for v in values]
(truthy, picked, both, None if not values else len(values))
""",
    "assert_passes": """
def safe_sqrt(x):
    assert x >= 0, "x must be non-negative"
    return x ** 0.5

[safe_sqrt(v) for v in (0, 4, 2.25)]
""",
    # --- numbers --------------------------------------------------------------------------------
    "integer_edge_cases": """
big = 2 ** 100
results = [big, big // 3, big % 97, -7 // 2, -7 % 2, 7 // -2, divmod(-17, 5), abs(-2 ** 63), 10 ** 20 - 1]
results += [int("-0042"), int("ff", 16), int("0b1011", 0), int(7.9), int(-7.9), round(2.5), round(3.5), round(-0.5)]
results += [bin(10), oct(64), hex(3054), (255).bit_length(), 1 << 40, -1 >> 3, 6 & 3, 6 | 3, 6 ^ 3, ~5]
results
""",
    "float_edge_cases": """
values = [0.1 + 0.2, 1 / 3, 2 ** -1, 1e300 * 10, -1e300 * 10, 7.0 // 2, -7.5 % 2, round(2.675, 2), round(1234.5678, -2)]
inf = float("inf")
nan = float("nan")
checks = [inf > 1e308, -inf < 0, nan == nan, nan != nan, str(inf), str(-inf), repr(1e16), repr(1e-5), float("1_000.5")]
values + checks + [3.0.is_integer(), (2.5).as_integer_ratio(), 5 / 2, 5 // 2, 5.0 == 5]
""",
    "numeric_builtins": """
nums = [3, -1.5, 7, 2]
(sum(nums), min(nums), max(nums), sorted(nums), abs(-4), pow(2, 10), pow(3, 4, 5), divmod(9, 4),
 round(7 / 3, 3), max("apple", "fig", key=len), min([], default=None), sum([0.5, 0.25], start=1))
""",
    "number_formatting_and_parsing": """
amounts = ["1,234.50", "  17 ", "-3.25", "1e3"]
parsed = [float(a.replace(",", "").strip()) for a in amounts]
shown = [f"${p:,.2f}" for p in parsed]
(parsed, shown, sum(parsed), int(sum(parsed)), str(round(sum(parsed), 1)))
""",
    "prime_sieve": """
def sieve(limit):
    is_prime = [True] * (limit + 1)
    is_prime[0] = is_prime[1] = False
    for i in range(2, int(limit ** 0.5) + 1):
        if is_prime[i]:
            for j in range(i * i, limit + 1, i):
                is_prime[j] = False
    return [i for i, p in enumerate(is_prime) if p]

primes = sieve(100)
(len(primes), primes[-5:], sum(primes))
""",
    "gcd_and_binary_search": """
def gcd(a, b):
    while b:
        a, b = b, a % b
    return a

def bisect(xs, target):
    lo, hi = 0, len(xs)
    while lo < hi:
        mid = (lo + hi) // 2
        if xs[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo

xs = [1, 3, 5, 7, 9, 11]
([gcd(48, 18), gcd(17, 5), gcd(0, 9)], [bisect(xs, t) for t in (0, 5, 6, 12)])
""",
    # --- sorting --------------------------------------------------------------------------------
    "sorting_with_keys": """
people = [{"name": "Zoe", "age": 31}, {"name": "adam", "age": 25}, {"name": "Bea", "age": 31}]
by_age_then_name = sorted(people, key=lambda p: (-p["age"], p["name"].lower()))
names_ci = sorted((p["name"] for p in people), key=str.lower)
stable = sorted([(1, "b"), (0, "a"), (1, "a"), (0, "b")], key=lambda t: t[0])
([p["name"] for p in by_age_then_name], names_ci, stable)
""",
    "sort_in_place_and_reverse": """
words = ["delta", "Alpha", "charlie", "bravo"]
words.sort()
first = list(words)
words.sort(key=len, reverse=True)
second = list(words)
words.reverse()
(first, second, words, sorted("hello"), sorted({3: "c", 1: "a"}), list(reversed(range(4))))
""",
    "top_k_and_ranking": """
scores = {"ann": 88, "bob": 95, "cy": 88, "dee": 70}
ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
ranks = {}
for position, (name, score) in enumerate(ranked, start=1):
    ranks[name] = position
(ranked[:2], ranks, max(scores.values()), [n for n, s in scores.items() if s == max(scores.values())])
""",
    # --- standard modules -----------------------------------------------------------------------
    "json_round_trip": """
import json
payload = {"name": "agent", "tags": ["a", "b"], "score": 0.75, "ok": True, "none": None, "nested": {"n": [1, 2]}}
text = json.dumps(payload, sort_keys=True)
back = json.loads(text)
pretty = json.dumps({"b": 1, "a": [1, 2]}, indent=2, sort_keys=True)
(text, back == payload, pretty, json.loads("[1, 2.5, \\"x\\", null]"), json.dumps("héllo"), json.dumps("héllo", ensure_ascii=False))
""",
    "json_errors": """
import json
outcomes = []
for raw in ['{"a": 1}', '{bad json}', '[1, 2', '"ok"']:
    try:
        outcomes.append(json.loads(raw))
    except json.JSONDecodeError as e:
        outcomes.append(("error", str(e)))
outcomes
""",
    "math_module": """
import math
(math.sqrt(16), math.floor(-2.5), math.ceil(-2.5), math.trunc(-2.7), math.pi, math.e, math.isclose(0.1 + 0.2, 0.3),
 math.gcd(84, 36), math.lcm(4, 6), math.factorial(12), math.comb(10, 3), math.perm(5, 2), math.isqrt(99),
 math.log(math.e), math.log10(1000), math.log2(1024), math.hypot(3, 4), math.fsum([0.1] * 10), round(math.sin(math.pi / 2), 6),
 math.degrees(math.pi), math.inf > 10 ** 100, math.isnan(math.nan), math.prod([1, 2, 3, 4]), math.copysign(3, -0.0))
""",
    "statistics_module": """
import statistics
data = [2, 4, 4, 4, 5, 5, 7, 9]
(statistics.mean(data), statistics.median(data), statistics.mode(data), statistics.pstdev(data),
 round(statistics.stdev(data), 6), statistics.median_low([1, 3, 5, 7]), statistics.median_high([1, 3, 5, 7]),
 statistics.fmean([1, 2, 3]), round(statistics.variance(data), 6), statistics.multimode("aabbc"))
""",
    "itertools_module": """
import itertools
(list(itertools.chain([1, 2], (3,), "ab")), list(itertools.islice(itertools.count(10, 5), 4)),
 list(itertools.accumulate([1, 2, 3, 4])), list(itertools.accumulate([3, 1, 4], max)),
 [list(g) for k, g in itertools.groupby("aaabccdd")], list(itertools.combinations("abc", 2)),
 list(itertools.permutations([1, 2, 3], 2))[:4], list(itertools.product("ab", repeat=2)),
 list(itertools.zip_longest([1, 2, 3], "ab", fillvalue="-")), list(itertools.takewhile(lambda x: x < 3, [1, 2, 3, 1])),
 list(itertools.dropwhile(lambda x: x < 3, [1, 2, 3, 1])), list(itertools.repeat("x", 3)),
 list(itertools.starmap(pow, [(2, 3), (3, 2)])), list(itertools.compress("abcd", [1, 0, 1, 0])),
 list(itertools.pairwise([1, 2, 4])), list(itertools.filterfalse(lambda x: x % 2, range(6))))
""",
    "collections_module": """
from collections import Counter, defaultdict, deque, OrderedDict
words = "to be or not to be that is the question".split()
counts = Counter(words)
index = defaultdict(list)
for position, word in enumerate(words):
    index[len(word)].append(position)
window = deque(maxlen=3)
for w in words:
    window.append(w)
queue = deque([1, 2, 3])
queue.appendleft(0)
queue.rotate(1)
ordered = OrderedDict(a=1, b=2)
ordered.move_to_end("a")
(counts.most_common(2), counts["be"], counts["zzz"], dict(index), list(window), list(queue), list(ordered),
 (Counter("aab") + Counter("bc")).most_common(), sorted(Counter("hello").elements()))
""",
    "datetime_module": """
from datetime import date, datetime, timedelta
start = date(2024, 2, 27)
days = [(start + timedelta(days=i)).isoformat() for i in range(4)]
moment = datetime(2024, 3, 10, 14, 30, 5)
later = moment + timedelta(hours=12, minutes=45)
delta = datetime(2024, 12, 25) - datetime(2024, 1, 1)
parsed = datetime.strptime("2024-07-04 09:15", "%Y-%m-%d %H:%M")
(days, later.isoformat(), later.strftime("%A %d %B %Y, %H:%M"), delta.days, delta.total_seconds(),
 parsed.weekday(), start.replace(day=1).isoformat(), date.fromisoformat("2023-01-31").month, start < date(2024, 3, 1))
""",
    "random_with_seed": """
import random
random.seed(42)
draws = [random.randint(1, 6) for _ in range(5)]
random.seed(42)
again = [random.randint(1, 6) for _ in range(5)]
random.seed(7)
items = list(range(10))
random.shuffle(items)
(draws == again, draws, items, random.choice("abcdef"), round(random.random(), 12), random.sample(range(100), 3),
 random.uniform(1, 2), random.choices("ab", k=3))
""",
    "string_module": """
import string
alphabet = string.ascii_lowercase
table = {ch: i for i, ch in enumerate(alphabet)}
(alphabet[:5], string.digits, string.ascii_uppercase[-3:], len(string.punctuation), sum(table[c] for c in "agent"),
 "".join(c for c in "Hi, there!" if c not in string.punctuation), string.capwords("hello big   world"))
""",
    # --- agent-style tasks ----------------------------------------------------------------------
    "parse_csv_like_text": """
raw = '''name,dept,salary
ann,eng,120
bob,ops,90
cy,eng,100
dee,ops,95'''
header, *rows = [line.split(",") for line in raw.splitlines()]
records = [dict(zip(header, row)) for row in rows]
by_dept = {}
for r in records:
    by_dept.setdefault(r["dept"], []).append(int(r["salary"]))
summary = {d: {"n": len(s), "avg": sum(s) / len(s), "max": max(s)} for d, s in sorted(by_dept.items())}
summary
""",
    "extract_numbers_without_re": """
text = "Order 66 shipped 3 boxes at 12.50 each, total 37.5 on day 7."
tokens = [t.strip(".,") for t in text.split()]
numbers = []
for t in tokens:
    try:
        numbers.append(int(t))
    except ValueError:
        try:
            numbers.append(float(t))
        except ValueError:
            pass
(numbers, sum(numbers))
""",
    "markdown_table_rendering": """
rows = [("Tool", "Calls", "Share"), ("search", 12, 0.6), ("calc", 8, 0.4)]
widths = [max(len(str(r[i])) for r in rows) for i in range(3)]
lines = []
for n, row in enumerate(rows):
    cells = [str(c) if not isinstance(c, float) else f"{c:.0%}" for c in row]
    lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |")
    if n == 0:
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
print("\\n".join(lines))
len(lines)
""",
    "running_totals_and_moving_average": """
prices = [10, 12, 11, 15, 14, 18, 20]
running = []
total = 0
for p in prices:
    total += p
    running.append(total)
window = 3
moving = [round(sum(prices[i - window + 1:i + 1]) / window, 2) for i in range(window - 1, len(prices))]
changes = [b - a for a, b in zip(prices, prices[1:])]
(running, moving, changes, max(changes), changes.index(max(changes)))
""",
    "inventory_state_machine": """
stock = {"widget": 5, "gadget": 0}
log = []
commands = [("sell", "widget", 2), ("sell", "gadget", 1), ("restock", "gadget", 4), ("sell", "gizmo", 1), ("sell", "widget", 9)]
for action, item, qty in commands:
    if item not in stock:
        log.append(f"unknown {item}")
        continue
    if action == "restock":
        stock[item] += qty
    elif stock[item] >= qty:
        stock[item] -= qty
    else:
        log.append(f"short {item}: {stock[item]} < {qty}")
        continue
    log.append(f"{action} {qty} {item}")
(stock, log)
""",
    "dynamic_programming_lcs": """
def lcs(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i][j] = table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
    out, i, j = [], len(a), len(b)
    while i and j:
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            i, j = i - 1, j - 1
        elif table[i - 1][j] >= table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return "".join(reversed(out))

[lcs("AGGTAB", "GXTXAYB"), lcs("agent", "argent"), lcs("", "x")]
""",
    "breadth_first_search": """
from collections import deque
graph = {"a": ["b", "c"], "b": ["d"], "c": ["d", "e"], "d": ["f"], "e": ["f"], "f": []}
def shortest_path(start, goal):
    queue = deque([[start]])
    seen = {start}
    while queue:
        path = queue.popleft()
        if path[-1] == goal:
            return path
        for nxt in graph[path[-1]]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(path + [nxt])
    return None

(shortest_path("a", "f"), shortest_path("e", "a"))
""",
    "tuple_and_membership_tests": """
point = (3, 4)
points = [(0, 0), (3, 4), (1, 2)]
(point in points, (1, 1) not in points, points.index((1, 2)), tuple(sorted(points, reverse=True)), point + (5,),
 point * 2, len(()), (1,) == tuple([1]), max(points), [p for p in points if sum(p) > 2])
""",
    "enumerate_zip_range": """
names = ["a", "b", "c"]
scores = [3, 1, 2]
(list(enumerate(names)), list(zip(names, scores)), dict(zip(names, scores)), list(range(10, 0, -3)),
 list(zip(*[(1, "x"), (2, "y")])), len(range(0, 100, 7)), range(5)[-1], list(range(3))[::-1], 7 in range(0, 10, 7))
""",
    "print_options": """
print("a", "b", 3, sep="-")
print("no newline", end="")
print(" then", [1, 2], {"k": None}, (1,), 2.5, True, None)
print()
print(*range(3), sep=", ", end=".\\n")
"printed"
""",
    "isinstance_and_conversions": """
values = [1, 2.0, "3", [4], (5,), {6: 6}, {7}, None, True]
kinds = [(isinstance(v, (int, float)), isinstance(v, str), isinstance(v, (list, tuple))) for v in values]
converted = [str(1), int("2"), float("3"), list("ab"), tuple([1]), set("aa"), dict([(1, 2)]), bool(0), list({3: 4})]
(kinds, converted, isinstance(True, int))
""",
    "augmented_assignment_everywhere": """
counter = {"n": 1}
xs = [1, 2]
s = "ab"
x = 10
counter["n"] += 4
counter["n"] *= 3
xs += [3]
xs *= 2
s += "c"
s *= 2
x //= 3
x **= 2
x %= 7
x <<= 2
x |= 1
(counter, xs, s, x)
""",
    "del_statements": """
data = {"a": 1, "b": 2, "c": 3}
items = [0, 1, 2, 3, 4, 5]
del data["b"]
del items[0], items[-1]
del items[::2]
temp = 5
del temp
(data, items)
""",
    "error_program_key_error": """
config = {"host": "localhost"}
print("looking up port")
port = config["port"]
""",
    "error_program_zero_division_in_function": """
def ratio(a, b):
    return a / b

print(ratio(1, 2))
ratio(3, 0)
""",
    "error_program_raise_value_error": """
def check_age(age):
    if age < 0:
        raise ValueError(f"age must be >= 0, not {age}")
    return age

ages = [check_age(a) for a in (3, 10)]
print(ages)
check_age(-1)
""",
    "error_program_index_error": """
stack = [1, 2]
stack.pop()
stack.pop()
stack.pop()
""",
    "error_program_assert": """
total = sum([1, 2, 3])
assert total == 7, f"total was {total}"
""",
    "error_program_type_error": """
items = ["a", 1]
print(len(items))
"-".join(items)
""",
    # --- exception classes, AttributeError, global/nonlocal ----------------------------------
    "json_decode_error_attributes": """
import json
try:
    json.loads("{bad")
except json.JSONDecodeError as e:
    where = (e.msg, e.pos, e.lineno, e.colno)
where
""",
    "misspelt_method_is_an_attribute_error": """
value = [1, 2, 3]
try:
    value.push(4)
except AttributeError:
    value.append(4)
has_fallback = []
for obj in ["text", 3, {"a": 1}]:
    try:
        obj.size
    except AttributeError as e:
        has_fallback.append(str(e))
(value, has_fallback)
""",
    "custom_exception_hierarchy": """
class AppError(Exception):
    pass

class NotFound(AppError):
    def __init__(self, key):
        super().__init__(f"no such key: {key}")
        self.key = key

class Invalid(AppError, ValueError):
    pass

def lookup(table, key):
    if not isinstance(key, str):
        raise Invalid("keys are strings", key)
    if key not in table:
        raise NotFound(key)
    return table[key]

results = []
for key in ["a", "zz", 3]:
    try:
        results.append(lookup({"a": 1}, key))
    except NotFound as e:
        results.append(("missing", e.key, str(e)))
    except ValueError as e:
        results.append(("invalid", e.args, isinstance(e, AppError)))
results
""",
    "custom_exception_retry_loop": """
class TransientError(RuntimeError):
    pass

attempts = []
def flaky(n):
    attempts.append(n)
    if n < 3:
        raise TransientError(f"attempt {n} failed")
    return "ok"

result = None
for n in range(1, 6):
    try:
        result = flaky(n)
        break
    except TransientError as err:
        last_error = str(err)
(result, attempts, last_error, repr(TransientError("x")))
""",
    "global_counter_and_cache": """
calls = 0
cache = {}

def fib(n):
    global calls
    calls += 1
    if n in cache:
        return cache[n]
    value = n if n < 2 else fib(n - 1) + fib(n - 2)
    cache[n] = value
    return value

(fib(30), calls, len(cache))
""",
    "nonlocal_closure_counter": """
def make_counter(start=0):
    count = start
    def step(by=1):
        nonlocal count
        count += by
        return count
    return step

a, b = make_counter(), make_counter(10)
a(); a(); b(5)
(a(), b(), a(0))
""",
    "error_program_custom_exception_escapes": """
class ConfigError(ValueError):
    pass

def load(config):
    if "name" not in config:
        raise ConfigError("missing 'name'")
    return config["name"]

load({"id": 1})
""",
    "dataclass_records": """
from dataclasses import dataclass, field, asdict

@dataclass
class Order:
    customer: str
    amount: float
    items: list = field(default_factory=list)
    status: str = "open"

    def add(self, item, price):
        self.items.append(item)
        self.amount += price

orders = [Order("ann", 0.0), Order("bob", 5.0, ["pen"]), Order("ann", 2.5, status="paid")]
orders[0].add("book", 12.0)
by_customer = {}
for o in orders:
    by_customer.setdefault(o.customer, []).append(o.amount)
(by_customer, [asdict(o) for o in orders if o.status == "open"], repr(orders[2]), orders[1] == Order("bob", 5.0, ["pen"]))
""",
    "frozen_dataclass_sorted": """
from dataclasses import dataclass, replace

@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int = 0
    patch: int = 0

    def bump(self):
        return replace(self, patch=self.patch + 1)

versions = [Version(1, 2), Version(0, 9, 3), Version(1, 2, 1), Version(1)]
newest = max(versions)
([repr(v) for v in sorted(versions)], repr(newest.bump()), Version(1, 2) < Version(1, 10))
""",
    "seeded_random_generators": """
import random
rng = random.Random(7)
rolls = [rng.randint(1, 6) for _ in range(8)]
again = random.Random(7)
deck = list(range(10))
again.shuffle(deck)
(rolls, [again.randint(1, 6) for _ in range(3)], deck, random.Random("seed").choice("abcdef"))
""",
    "namedtuple_rows": """
from collections import namedtuple
Row = namedtuple("Row", "name dept salary")
rows = [Row("ann", "eng", 120), Row("bob", "ops", 90), Row("cy", "eng", 100)]
by_dept = {}
for name, dept, salary in rows:
    by_dept.setdefault(dept, []).append(salary)
top = max(rows, key=lambda r: r.salary)
(by_dept, repr(top), top.name, rows[1][2], sorted(rows)[0] == ("ann", "eng", 120), len(rows[0]))
""",
    "hash_for_dedup_keys": """
records = [("a", 1), ("b", 2), ("a", 1), ("c", (3, 4))]
seen, unique = set(), []
for rec in records:
    key = hash(rec)
    if key not in seen:
        seen.add(key)
        unique.append(rec)
errors = []
try:
    hash(["not", "hashable"])
except TypeError as e:
    errors.append(str(e))
(unique, hash(("x", 1)) == hash(("x", 1)), errors)
""",
}

# Legitimate programs where nbagents differs from CPython today, each with why: the test checks
# that nbagents still refuses them (when one starts to run, move it to PROGRAMS).
DIFFERENCES: dict[str, tuple[str, str]] = {
    "format_on_a_template_variable": ("""
template = "{} scored {}"
template.format("Ann", 42)
""", "documented: str.format only on a literal format string"),
}

# What issue 17 adds to the interpreter (kept apart: these fail until that work lands).
NEW_CONSTRUCTS: dict[str, str] = {
    "annotated_assignments": """
count: int = 3
name: str = "agent"
ratio: float
ratio = count / 4
items: list[int] = [count] * 2
(count, name, ratio, items)
""",
    "annotated_function_signature": """
def scale(values: list[float], factor: float = 2.0) -> list[float]:
    result: list[float] = [v * factor for v in values]
    return result

scale([1.0, 2.5]) + scale([1], factor=-1)
""",
    "class_with_methods_and_instances": """
class Account:
    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance
        self.history = []

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("deposit must be positive")
        self.balance += amount
        self.history.append(("deposit", amount))
        return self.balance

    def describe(self):
        return f"{self.owner}: {self.balance}"

acct = Account("ann", 10)
acct.deposit(5)
acct.deposit(20)
try:
    acct.deposit(-1)
except ValueError as e:
    acct.history.append(("refused", str(e)))
(acct.describe(), acct.history, acct.balance)
""",
    "class_inheritance_and_super": """
class Shape:
    def __init__(self, name):
        self.name = name

    def area(self):
        return 0

    def label(self):
        return f"{self.name} with area {self.area():.2f}"

class Rect(Shape):
    def __init__(self, w, h):
        super().__init__("rect")
        self.w, self.h = w, h

    def area(self):
        return self.w * self.h

class Square(Rect):
    def __init__(self, side):
        super().__init__(side, side)
        self.name = "square"

shapes = [Shape("blob"), Rect(2, 3.5), Square(3)]
([s.label() for s in shapes], isinstance(shapes[2], Rect), isinstance(shapes[1], Square))
""",
    "class_attributes_and_counters": """
class Task:
    created = 0
    priority_names = {1: "low", 2: "high"}

    def __init__(self, title, priority=1):
        Task.created += 1
        self.title = title
        self.priority = priority

    def describe(self):
        return f"Task({self.title!r}, {self.priority_names[self.priority]})"

tasks = [Task("write"), Task("test", 2), Task("ship", 2)]
urgent = [t for t in tasks if t.priority == 2]
(Task.created, [t.describe() for t in urgent], sorted(tasks, key=lambda t: -t.priority)[0].title)
""",
    "class_with_repr_and_eq": """
class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __repr__(self):
        return f"Point({self.x}, {self.y})"

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

points = [Point(1, 2), Point(1, 2), Point(0, 0)]
(repr(points[0]), str(points[2]), points[0] == points[1], points[0] == points[2], points.count(Point(1, 2)))
""",
    "with_user_defined_context_manager": """
class Recorder:
    def __init__(self, log, name):
        self.log = log
        self.name = name

    def __enter__(self):
        self.log.append("enter " + self.name)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.log.append("exit " + self.name + (" after error" if exc_type else ""))
        return False

log = []
with Recorder(log, "a") as r:
    log.append("inside " + r.name)
try:
    with Recorder(log, "b"):
        raise KeyError("boom")
except KeyError:
    log.append("caught")
log
""",
    "with_try_finally_around_context_manager": """
class Resource:
    opened = 0

    def __enter__(self):
        Resource.opened += 1
        return "handle"

    def __exit__(self, *exc):
        Resource.opened -= 1
        return False

steps = []
try:
    with Resource() as h:
        steps.append((h, Resource.opened))
        1 / 0
except ZeroDivisionError:
    steps.append("division")
finally:
    steps.append(("finally", Resource.opened))
steps
""",
    "time_monotonic": """
import time
t0 = time.monotonic()
total = sum(range(10000))
t1 = time.monotonic()
elapsed = t1 - t0
(total, t1 >= t0, elapsed >= 0, isinstance(time.time(), float), time.perf_counter() > 0)
""",
    "unicodedata_names": """
import unicodedata
chars = "aé€1 "
names = [unicodedata.name(c) for c in chars]
normalized = unicodedata.normalize("NFD", "é")
(names, len(normalized), unicodedata.category("A"), unicodedata.numeric("½"), unicodedata.lookup("SNOWMAN"))
""",
    "stat_constants": """
import stat
modes = [0o40755, 0o100644, 0o120777]
([stat.S_ISDIR(m) for m in modes], [stat.S_ISREG(m) for m in modes], [stat.S_ISLNK(m) for m in modes],
 stat.filemode(0o100644), stat.S_IMODE(0o100644) == 0o644, bool(0o100644 & stat.S_IRUSR))
""",
    "re_in_kernel": """
import re
text = "Contact: ann@example.com, bob@test.org; phone 555-1234 or 555-9876."
emails = re.findall(r"[\\w.]+@[\\w.]+\\w", text)
phones = [m.group(0) for m in re.finditer(r"\\d{3}-\\d{4}", text)]
masked = re.sub(r"\\d", "#", text)
parts = re.split(r"[,;]\\s*", text)
match = re.match(r"(\\w+): (\\w+)", text)
(emails, phones, masked[-20:], len(parts), match.groups(), bool(re.search(r"^contact", text, re.I)))
""",
}
