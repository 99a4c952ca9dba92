"""Each rule of the SPL reference evaluator, tested on its own against Splunk's documentation.

The examples are the documentation's own (quoted in the docstrings of targets/spl/evaluator/*),
so the evaluator is checked against the source, not against eqlc's emitter.
"""

from __future__ import annotations

import pytest

from eqlc.targets.spl.evaluator import SplSyntaxError, Undocumented, Unsupported, parse, run


def ids(spl, events):
    return [e["_id"][0] for e in run(spl, events)]


def ev(i, **fields):
    out = {"_id": [i]}
    for k, v in fields.items():
        out[k.replace("__", ".")] = v if isinstance(v, list) else [v]
    return out


# Search Manual > Difference between != and NOT: the Ponies table (Location missing for 104F5, 102M1).
PONIES = [
    ev("101M3", ID="101M3", Location="Marin Meadows"),
    ev("104F5", ID="104F5"),
    ev("104M6", ID="104M6", Location="Placer Pastures"),
    ev("102M7", ID="102M7", Location="Calaveras Farms"),
    ev("102M1", ID="102M1"),
    ev("102M8", ID="102M8", Location="Calaveras Farms"),
]


def test_not_equal_excludes_events_without_the_field():
    assert ids('Location!="Calaveras Farms"', PONIES) == ["101M3", "104M6"]


def test_NOT_includes_events_without_the_field():
    assert ids('NOT Location="Calaveras Farms"', PONIES) == ["101M3", "104F5", "104M6", "102M1"]


def test_not_equal_on_a_multivalue_field_is_undocumented():
    with pytest.raises(Undocumented):
        run("f!=a", [ev("1", f=["a", "b"])])


def test_search_is_case_insensitive_for_values_not_field_names():
    events = [ev("1", host="WWW2"), ev("2", Host="www2")]
    assert ids("host=www2", events) == ["1"]


def test_search_compares_strings_one_does_not_match_one_point_zero():
    assert ids('code="1"', [ev("1", code="1.0"), ev("2", code="1")]) == ["2"]


def test_search_wildcard_matches_whole_value():
    events = [ev("1", host="webserver01"), ev("2", host="mywebserver"), ev("3", host="webserver")]
    assert ids("host=webserver*", events) == ["1", "3"]


def test_search_or_binds_tighter_than_and():
    # search: NOT, then OR, then AND -> a=1 OR b=1 c=1 is (a=1 OR b=1) AND c=1
    events = [ev("1", a="1"), ev("2", b="1", c="1"), ev("3", a="1", c="1")]
    assert ids("a=1 OR b=1 c=1", events) == ["2", "3"]


def test_where_and_binds_tighter_than_or():
    events = [ev("1", a="1"), ev("2", b="1", c="1"), ev("3", b="1")]
    assert ids('search | where a="1" OR b="1" AND c="1"', events) == ["1", "2"]


def test_in_operator_with_wildcards():
    # "error_code IN (40*, 500)"
    events = [ev("1", error_code="404"), ev("2", error_code="500"), ev("3", error_code="501")]
    assert ids("error_code IN (40*, 500)", events) == ["1", "2"]
    assert ids("NOT error_code IN (40*, 500)", events + [ev("4")]) == ["3", "4"]


def test_search_cidr_matching():
    events = [ev("1", ip="10.10.10.12"), ev("2", ip="50.10.10.17"), ev("3", ip="10.10.10.23")]
    assert ids('ip="10.10.10.0/24"', events) == ["1", "3"]


def test_multivalue_field_matches_when_any_value_matches():
    events = [ev("1", tags=["a", "b"]), ev("2", tags=["c"])]
    assert ids("tags=b", events) == ["1"]
    assert ids("NOT tags=b", events) == ["2"]


def test_keyword_values_must_be_quoted():
    assert ids('country="IN"', [ev("1", country="in")]) == ["1"]
    with pytest.raises(SplSyntaxError):
        parse("country=IN")


def test_backslash_escapes_quote_pipe_and_backslash_inside_quotes():
    events = [ev("1", f='a"b|c\\d')]
    assert ids(r'f="a\"b\|c\\d"', events) == ["1"]
    assert ids(r'f="a\"b|c\\d"', events) == ["1"]  # a quoted pipe does not split the search


def test_unrecognized_backslash_sequences_are_not_altered():
    assert ids(r'f="a\sb"', [ev("1", f="a\\sb"), ev("2", f="asb")]) == ["1"]


def test_backslash_cannot_escape_the_asterisk():
    # the backslash stays a literal character and * stays a wildcard
    events = [ev("1", f="a\\xyz"), ev("2", f="a*")]
    assert ids(r'f="a\*"', events) == ["1"]


def test_comments_are_ignored():
    assert ids('f=1 ```f=2 | where false()``` | where isnotnull(f)', [ev("1", f="1")]) == ["1"]


def test_free_text_terms_are_outside_the_subset():
    with pytest.raises(Unsupported):
        parse("error login")


# ---- where / eval ----------------------------------------------------------------------------
def test_where_is_case_sensitive_and_quoted_strings_are_literals():
    events = [ev("1", host="www2"), ev("2", host="WWW2")]
    assert ids('search | where host="www2"', events) == ["1"]
    assert ids("search | where host=ipaddress", [ev("1", host="a", ipaddress="a"), ev("2", host="a", ipaddress="b")]) == ["1"]


def test_like_percent_and_underscore():
    # "... | where like(ipaddress, "198.%")"
    events = [ev("1", ipaddress="198.51.100.1"), ev("2", ipaddress="10.198.0.1")]
    assert ids('search | where like(ipaddress, "198.%")', events) == ["1"]
    assert ids('search | where like(f, "a_c")', [ev("1", f="abc"), ev("2", f="abbc"), ev("3", f="ABC")]) == ["1"]
    assert ids('search | where f LIKE "a%"', [ev("1", f="abc"), ev("2", f="Abc")]) == ["1"]


def test_like_with_a_backslash_is_undocumented():
    with pytest.raises(Undocumented):
        run(r'search | where like(f, "a\\%")', [ev("1", f="a%")])


def test_match_is_unanchored_pcre():
    # "match(field, "^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")" and "match(test,"yes")"
    spl = r'search | where match(field, "^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")'
    assert ids(spl, [ev("1", field="10.1.2.3"), ev("2", field="x10.1.2.3")]) == ["1"]
    assert ids('search | where match(test, "yes")', [ev("1", test="oh yes!"), ev("2", test="YES")]) == ["1"]
    assert ids(r'search | where match(test, "\"yes\"")', [ev("1", test='"yes"'), ev("2", test="yes")]) == ["1"]


def test_eval_string_escapes():
    # "C:\\windows" is C:\windows; "\t" is a tab (Search Manual > Types of expressions)
    assert ids(r'search | where f=="C:\\windows"', [ev("1", f="C:\\windows")]) == ["1"]
    assert ids(r'search | where f=="C:\\windows\temp"', [ev("1", f="C:\\windows\temp")]) == ["1"]


def test_mvfind_returns_first_index_or_null():
    # "eval n=mvfind(mymvfield, "err\d+")"
    rows = run(r'search | eval n=mvfind(mymvfield, "err\d+")', [ev("1", mymvfield=["ok", "err42", "err7"]), ev("2", mymvfield=["ok"])])
    assert rows[0]["n"] == [1.0] and "n" not in rows[1]


def test_mvfilter_keeps_matching_values_and_is_null_when_none():
    spl = r'search | eval n=mvfilter(match(email, "\.net$") OR match(email, "\.org$"))'
    rows = run(spl, [ev("1", email=["a@x.net", "b@y.com", "c@z.org"]), ev("2", email=["d@w.com"])])
    assert rows[0]["n"] == ["a@x.net", "c@z.org"] and "n" not in rows[1]
    with pytest.raises(SplSyntaxError):
        run('search | eval n=mvfilter(a=="x" OR b=="y")', [ev("1", a="x", b="y")])


def test_mvcount_single_value_and_missing():
    rows = run("search | eval n=mvcount(f), m=mvcount(g)", [ev("1", f="x")])
    assert rows[0]["n"] == [1.0] and "m" not in rows[0]


def test_in_function():
    # "... | where status in("400", "401", "403", "404")"
    events = [ev("1", status="401"), ev("2", status="500")]
    assert ids('search | where in(status, "400", "401", "403", "404")', events) == ["1"]


def test_cidrmatch_ipv4_and_ipv6():
    assert ids('search | where cidrmatch("123.132.32.0/25", ip)', [ev("1", ip="123.132.32.5"), ev("2", ip="123.132.32.200")]) == ["1"]
    spl = 'search | where cidrmatch("2001:0db8:ffff:ffff:ffff:ffff:ffff:ff00/120", ip)'
    assert ids(spl, [ev("1", ip="2001:0db8:ffff:ffff:ffff:ffff:ffff:ff99"), ev("2", ip="192.0.2.56")]) == ["1"]


def test_isnull_isnotnull_if_case():
    rows = run('search | eval a=if(isnull(f), "none", "some"), b=case(isnotnull(f), 1)', [ev("1", f="x"), ev("2")])
    assert rows[0]["a"] == ["some"] and rows[1]["a"] == ["none"]
    assert rows[0]["b"] == [1.0] and "b" not in rows[1]


def test_where_drops_null_and_not_null_is_undocumented():
    assert ids('search | where f=="x"', [ev("1"), ev("2", f="x")]) == ["2"]
    with pytest.raises(Undocumented):
        run('search | where NOT f=="x"', [ev("1")])


def test_operators_on_multivalue_fields_are_undocumented():
    with pytest.raises(Undocumented):
        run('search | where f=="a"', [ev("1", f=["a", "b"])])
    with pytest.raises(Undocumented):
        run('search | where len(f) > 1', [ev("1", f=["a", "b"])])


def test_numeric_comparison_in_eval():
    assert ids("search | where n > 5", [ev("1", n="10"), ev("2", n="3")]) == ["1"]
    assert ids("search | where n==10", [ev("1", n="10.0"), ev("2", n="3")]) == ["1"]
    with pytest.raises(Undocumented):
        run('search | where n=="10"', [ev("1", n="10.0")])


def test_eval_cannot_assign_a_boolean():
    with pytest.raises(SplSyntaxError):
        run("search | eval b=isnull(f)", [ev("1")])


def test_streamstats_current_false_sort_and_reverse():
    events = [ev("a", _time=3.0, k="x", v="1"), ev("b", _time=1.0, k="x", v="5"), ev("c", _time=2.0, k="y", v="2")]
    rows = run("search | sort 0 _time | streamstats current=f max(v) AS m count AS c by k", events)
    assert [r["_id"][0] for r in rows] == ["b", "c", "a"]
    assert "m" not in rows[0] and rows[2]["m"] == [5.0] and rows[2]["c"] == [1.0]
    assert [r["_id"][0] for r in run("search | reverse", events)] == ["c", "b", "a"]


def test_regex_command():
    events = [ev("1", f="abc"), ev("2", f="xyz"), ev("3")]
    assert ids('search | regex f="b"', events) == ["1"]
    assert ids('search | regex f!="b"', events) == ["2", "3"]


def test_unknown_commands_and_functions_are_unsupported():
    with pytest.raises(Unsupported):
        parse("index=x | stats count")
    with pytest.raises(Unsupported):
        parse("index=x | where foo(a)")


# ---- multivalue helpers and commands used by keyed sequences -----------------------------------
def test_mvappend_literals_fields_and_nesting():
    # "eval ipaddresses=mvappend("localhost", srcip)" and the nested example with destip and "192.168.1.1"
    rows = run('search | eval ipaddresses=mvappend(mvappend("localhost", srcip), destip, "192.168.1.1")',
               [ev("1", srcip="10.0.0.1", destip=["10.0.0.2", "10.0.0.3"])])
    assert rows[0]["ipaddresses"] == ["localhost", "10.0.0.1", "10.0.0.2", "10.0.0.3", "192.168.1.1"]
    with pytest.raises(Undocumented):  # a NULL argument is not documented
        run('search | eval x=mvappend("a", nosuchfield)', [ev("1")])


def test_mvdedup_removes_duplicate_values():
    rows = run("search | eval s=mvdedup(f), t=mvdedup(g)", [ev("1", f=["b", "a", "b", "A"], g="x")])
    assert rows[0]["s"] == ["b", "a", "A"] and rows[0]["t"] == ["x"]  # case-sensitive text comparison
    with pytest.raises(Undocumented):
        run("search | eval s=mvdedup(nosuchfield)", [ev("1")])


def test_mvexpand_one_result_per_value_other_fields_unchanged():
    # the documentation's a/b/c example: "... | mvexpand c"
    rows = run("search | mvexpand c", [ev("1", a="1", b="x", c=["V1", "V2", "V3"]), ev("2", a="2", b="y", c=["V4", "V5"])])
    assert [(r["a"][0], r["b"][0], r["c"]) for r in rows] == [
        ("1", "x", ["V1"]), ("1", "x", ["V2"]), ("1", "x", ["V3"]), ("2", "y", ["V4"]), ("2", "y", ["V5"])]
    with pytest.raises(Undocumented):
        run("search | mvexpand c", [ev("1", a="1")])


def test_mvexpand_twice_is_the_cartesian_product():
    rows = run("search | mvexpand a | mvexpand b", [ev("1", a=["1", "2"], b=["x", "y"])])
    assert [(r["a"][0], r["b"][0]) for r in rows] == [("1", "x"), ("1", "y"), ("2", "x"), ("2", "y")]


def test_dedup_keeps_the_first_result_per_value_and_drops_empty():
    # the documentation's host/action table: "... | dedup host" returns one result per host, in search order
    hosts = [("1", "www1", "view"), ("2", "www2", "addtocart"), ("3", "www3", "view"), ("4", "www1", "addtocart"),
             ("5", "www1", "purchase"), ("6", "www3", "view"), ("7", "www2", "remove")]
    events = [ev(i, host=h, action=a) for i, h, a in hosts] + [ev("8", action="view")]
    assert ids("search | dedup host", events) == ["1", "2", "3"]  # keepempty defaults to false: 8 is removed
    assert ids("search | dedup host action", events) == ["1", "2", "3", "4", "5", "7"]
    with pytest.raises(Undocumented):
        run("search | dedup f", [ev("1", f=["a", "b"])])


# ---- tstats over a CIM data model ----------------------------------------------------------------
DM_EVENTS = [
    ev("1", tag=["process", "report"], process_name="cmd.exe", dest="h1", _time=10.0),
    ev("2", tag=["process", "report"], process_name="CMD.EXE", dest="h2", _time=20.0),
    ev("3", tag=["process"], process_name="cmd.exe", dest="h1", _time=30.0),  # not in the dataset: no tag=report
    ev("4", tag=["process", "report"], process_name="cmd.exe", _time=40.0),  # no dest
    ev("5", tag=["endpoint", "filesystem"], file_name="a.txt", dest="h1", _time=50.0),
]


def test_tstats_reads_the_dataset_through_its_constraint_and_prefixed_field_names():
    # "Each data set is directly searchable as DataModel.DataSet"; Processes: tags process, report
    rows = run('| tstats count FROM datamodel=Endpoint.Processes WHERE Processes.process_name="cmd.exe"', DM_EVENTS)
    assert len(rows) == 1 and rows[0]["count"] == [3.0] and rows[0]["_eqlc_from"] == ["1", "2", "4"]
    rows = run("| tstats count FROM datamodel=Endpoint.Filesystem", DM_EVENTS)
    assert rows[0]["_eqlc_from"] == ["5"]
    # the dataset's fields are named <dataset>.<field>: the bare CIM name is no field of it
    assert run('| tstats count FROM datamodel=Endpoint.Processes WHERE process_name="cmd.exe"', DM_EVENTS) == []


def test_tstats_by_groups_and_fillnull_value_keeps_events_without_the_field():
    spl = ('| tstats fillnull_value="(none)" count min(_time) AS firstTime max(_time) AS lastTime '
           'FROM datamodel=Endpoint.Processes WHERE Processes.process_name="cmd.exe" BY Processes.dest')
    rows = {r["Processes.dest"][0]: r for r in run(spl, DM_EVENTS)}
    # dest is a calculated field: "if(isnull(dest) OR dest=\"\",\"unknown\",dest)" (CIM 8.5 Endpoint)
    assert set(rows) == {"h1", "h2", "unknown"}
    assert rows["h1"]["count"] == [1.0] and rows["h1"]["firstTime"] == [10.0] and rows["unknown"]["_eqlc_from"] == ["4"]
    # user_id is extracted, not calculated: fillnull_value stands in for it
    by_user = run(spl.replace("BY Processes.dest", "BY Processes.user_id"), DM_EVENTS)
    assert [r["Processes.user_id"] for r in by_user] == [["(none)"]]
    with pytest.raises(Undocumented):  # without fillnull_value, what happens to an event without user_id is left open
        run(spl.replace('fillnull_value="(none)" ', "").replace("BY Processes.dest", "BY Processes.user_id"), DM_EVENTS)


def test_tstats_where_is_a_search_query():
    spl = '| tstats count FROM datamodel=Endpoint.Processes WHERE Processes.process_name IN ("cmd*") NOT Processes.user_id="s1"'
    assert run(spl, DM_EVENTS + [ev("9", tag=["process", "report"], process_name="cmd", user_id="S1")])[0]["_eqlc_from"] == ["1", "2", "4"]


# ---- the datamodel command and the data model's calculated fields ---------------------------------
def test_datamodel_search_returns_the_datasets_events_with_prefixed_fields():
    # "search: Returns the search results exactly how they are defined"; flat mode "strips the
    # hierarchical information from the field names": search mode names them <dataset>.<field>
    rows = run("| datamodel Endpoint Processes search", DM_EVENTS)
    assert [r["_id"] for r in rows] == [["1"], ["2"], ["4"]]
    assert rows[0]["Processes.process_name"] == ["cmd.exe"] and "process_name" not in rows[0]
    assert ids('| datamodel Endpoint Processes search | search Processes.process_name="CMD.exe"', DM_EVENTS) == ["1", "2", "4"]
    # strict_fields=true (the default): only the dataset's own fields come back
    assert "Processes.file_name" not in run("| datamodel Endpoint Processes search", [ev("1", tag=["process", "report"], file_name="x")])[0]
    with pytest.raises(Unsupported):
        parse("| datamodel Endpoint Processes flat")
    with pytest.raises(Unsupported):
        parse("| datamodel Web Web search")


def test_calculated_fields_fill_missing_values_as_the_reference_says():
    # CIM 8.5 Endpoint, Processes: process_name "case(isnotnull(process_name) AND process_name!=\"\",process_name,
    # isnotnull (process) AND process!=\"\",replace(process,\"^\\s*([^\\s]+).*\",\"\\1\"),1=1,\"unknown\")"
    events = [ev("1", tag=["process", "report"], process="  cmd.exe /c x"), ev("2", tag=["process", "report"]),
              ev("3", tag=["process", "report"], process_name="", process="a b"), ev("4", tag=["process", "report"], user="")]
    rows = {r["_id"][0]: r for r in run("| datamodel Endpoint Processes search", events)}
    assert rows["1"]["Processes.process_name"] == ["cmd.exe"]
    assert rows["2"]["Processes.process_name"] == ["unknown"] and rows["2"]["Processes.process"] == ["unknown"]
    assert rows["3"]["Processes.process_name"] == ["a"]
    assert rows["4"]["Processes.user"] == ["unknown"] and rows["4"]["Processes.dest"] == ["unknown"]
    # an expression over a multivalue field is not documented: reading the field raises, others do not
    mv = [ev("1", tag=["process", "report"], user=["a", "b"], process_id="7")]
    assert ids('| datamodel Endpoint Processes search | search Processes.process_id=7', mv) == ["1"]
    with pytest.raises(Undocumented):
        run('| datamodel Endpoint Processes search | search Processes.user=a', mv)


def test_replace_and_split_eval_functions():
    # eval string "^.*\\\\" is the PCRE ^.*\\ (up to the last backslash); "\\2\\1" holds backreferences
    rows = run(r'search | eval a=replace(p, "^.*\\\\", ""), b=mvcount(split(c, " "))', [ev("1", p="C:\\w\\cmd.exe", c="a b  c")])
    assert rows[0]["a"] == ["cmd.exe"] and rows[0]["b"] == [4.0]
    assert run(r'search | eval d=replace(p, "(x)(y)", "\\2\\1")', [ev("1", p="axyb")])[0]["d"] == ["ayxb"]
    with pytest.raises(Undocumented):
        run('search | eval d=split(p, "")', [ev("1", p="ab")])


def test_tstats_outside_the_subset():
    with pytest.raises(Unsupported):
        parse("| tstats summariesonly=true count FROM datamodel=Endpoint.Processes")  # summaries only: a partial read
    with pytest.raises(Unsupported):
        parse("| tstats count FROM datamodel=Web.Web")
    with pytest.raises(Unsupported):
        parse("| tstats count WHERE index=main")
    with pytest.raises(Unsupported):
        parse("| makeresults")


def test_rex_extracts_named_groups_from_the_first_match():
    # "rex field=_raw "From: (?<from>.*) To: (?<to>.*)"": "From: Susan To: David" gives from=Susan, to=David
    rows = run('search | rex field=_raw "From: (?<from>.*) To: (?<to>.*)"', [ev("1", _raw="From: Susan To: David"), ev("2", _raw="x")])
    assert rows[0]["from"] == ["Susan"] and rows[0]["to"] == ["David"]
    assert "from" not in rows[1] and "to" not in rows[1]
    # the rex/eval/search chain pySigma writes for regular expressions under OR
    spl = ('search f=* | rex field=f "(?<fMatch>a.b)" | eval fCondition=if(isnotnull(fMatch), "true", "false") '
           '| search fCondition="true"')
    assert ids(spl, [ev("1", f="xa-by"), ev("2", f="ab"), ev("3")]) == ["1"]
    with pytest.raises(Undocumented):
        run('search | rex field=f "(?<m>a)"', [ev("1", f=["a", "b"])])
    with pytest.raises(Unsupported):
        parse('search | rex mode=sed field=f "s/a/b/"')


def test_pcre_option_settings_inside_a_group():
    # PCRE: "(a(?i)b)c matches abc and aBc"; "(a(?i)b|c) matches "ab", "aB", "c", and "C""
    assert ids('search | where match(f, "^(a(?i)b)c$")', [ev(str(i), f=v) for i, v in enumerate(["abc", "aBc", "aBC", "Abc"])]) == ["0", "1"]
    assert ids('search | where match(f, "^(a(?i)b|c)$")', [ev(str(i), f=v) for i, v in enumerate(["ab", "aB", "c", "C", "Ab"])]) == ["0", "1", "2", "3"]
    # as pySigma writes Sigma's |re|s inside a rex named group
    rows = run('search | rex field=f "(?<m>x(?s)y.z)"', [ev("1", f="xy\nz")])
    assert rows[0]["m"] == ["xy\nz"]


def test_isnum_is_true_for_numbers_and_numeric_text():
    assert ids("search | where isnum(n)", [ev("1", n="10"), ev("2", n="1.5e3"), ev("3", n="abc"), ev("4")]) == ["1", "2"]
    rows = run('search | eval a=if(isnum(3), "y", "n"), b=if(isnum("x"), "y", "n")', [ev("1")])
    assert rows[0]["a"] == ["y"] and rows[0]["b"] == ["n"]
