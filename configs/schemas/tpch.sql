-- The TPC-H-like tables of pqsim's validation workload (src/validation/tpch.rs), as CREATE TABLE
-- statements for `pqsim import PLAN.json --schema configs/schemas/tpch.sql`: the importer reads
-- each column's type, so rows are priced by their real schema.
CREATE TABLE orders (o_orderkey bigint NOT NULL, o_custkey bigint NOT NULL, o_orderstatus character(1),
    o_totalprice numeric(15,2), o_orderdate date, o_orderpriority character(15), o_clerk character(15),
    o_shippriority integer, o_comment character varying(79));
CREATE TABLE lineitem (l_orderkey bigint NOT NULL, l_partkey bigint NOT NULL, l_suppkey bigint NOT NULL,
    l_linenumber integer NOT NULL, l_quantity numeric(15,2), l_extendedprice numeric(15,2),
    l_discount numeric(15,2), l_tax numeric(15,2), l_returnflag character(1), l_linestatus character(1),
    l_shipdate date, l_commitdate date, l_receiptdate date, l_shipinstruct character(25),
    l_shipmode character(10), l_comment character varying(44));
CREATE TABLE part (p_partkey bigint NOT NULL, p_name character varying(55), p_type character varying(25),
    p_size integer, p_retailprice numeric(15,2));
