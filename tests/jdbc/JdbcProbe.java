import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * What Tableau's and Metabase's JDBC connectors do, through pgjdbc with its defaults:
 * DatabaseMetaData browsing, a prepared statement run past prepareThreshold (so pgjdbc
 * switches to a named server-side statement and binary results), and setFetchSize inside a
 * transaction (portal suspension). Prints one tab-separated line per fact for the test.
 */
public class JdbcProbe {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/lake?sslmode=require";
        Properties props = new Properties();
        props.setProperty("user", "token");
        props.setProperty("password", args[1]);
        try (Connection conn = DriverManager.getConnection(url, props)) {
            DatabaseMetaData meta = conn.getMetaData();
            print("product", meta.getDatabaseProductName());
            try (ResultSet rs = meta.getCatalogs()) {
                while (rs.next()) print("catalog", rs.getString("TABLE_CAT"));
            }
            try (ResultSet rs = meta.getSchemas()) {
                while (rs.next()) print("schema", rs.getString("TABLE_SCHEM"));
            }
            try (ResultSet rs = meta.getTables(null, null, "%", new String[] {"TABLE", "VIEW"})) {
                while (rs.next()) {
                    print("table", rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"),
                          rs.getString("TABLE_TYPE"), String.valueOf(rs.getString("REMARKS")));
                }
            }
            try (ResultSet rs = meta.getColumns(null, args[2], args[3], "%")) {
                while (rs.next()) {
                    print("column", rs.getString("COLUMN_NAME"), rs.getString("TYPE_NAME"),
                          String.valueOf(rs.getString("REMARKS")));
                }
            }
            try (ResultSet rs = meta.getPrimaryKeys(null, "unrestricted_raw_zone", "wards")) {
                while (rs.next()) {
                    print("primary_key", rs.getString("TABLE_NAME"), rs.getString("COLUMN_NAME"),
                          String.valueOf(rs.getInt("KEY_SEQ")), rs.getString("PK_NAME"));
                }
            }
            try (ResultSet rs = meta.getImportedKeys(null, args[2], args[3])) {
                while (rs.next()) {
                    print("imported_key", rs.getString("FKCOLUMN_NAME"),
                          rs.getString("PKTABLE_SCHEM") + "." + rs.getString("PKTABLE_NAME"),
                          rs.getString("PKCOLUMN_NAME"), rs.getString("FK_NAME"));
                }
            }
            try (ResultSet rs = meta.getExportedKeys(null, "unrestricted_raw_zone", "wards")) {
                while (rs.next()) {
                    print("exported_key", rs.getString("FKTABLE_SCHEM") + "." + rs.getString("FKTABLE_NAME"),
                          rs.getString("FKCOLUMN_NAME"));
                }
            }
            try (ResultSet rs = meta.getTypeInfo()) {
                while (rs.next()) print("type", rs.getString("TYPE_NAME"), String.valueOf(rs.getInt("DATA_TYPE")));
            }
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT ward_code, upper(ward_name) AS name FROM unrestricted_raw_zone.wards")) {
                java.sql.ResultSetMetaData md = rs.getMetaData();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    print("result_column", md.getColumnName(i), md.getSchemaName(i) + "." + md.getTableName(i),
                          String.valueOf(md.isNullable(i)));
                }
            }
            String sql = "SELECT count(*) FROM " + args[2] + "." + args[3] + " WHERE " + args[4] + " = ?";
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                for (int i = 0; i < 8; i++) {
                    ps.setString(1, args[5]);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        print("prepared", String.valueOf(i), String.valueOf(rs.getLong(1)));
                    }
                }
            }
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(50);
                long rows = 0;
                try (ResultSet rs = st.executeQuery("SELECT * FROM " + args[2] + "." + args[3])) {
                    while (rs.next()) rows++;
                }
                print("fetched", String.valueOf(rows));
            }
            conn.commit();
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT * FROM housing_raw_zone.tenancies");
                print("hidden", "visible");
            } catch (SQLException e) {
                print("hidden", e.getSQLState());
            }
        }
    }

    private static void print(String... fields) {
        System.out.println(String.join("\t", fields));
    }
}
