import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;

/**
 * A server-side prepared statement (prepareThreshold=1) that outlives a change of its
 * result columns, as a Tableau or Metabase connection pool's statements outlive a reload.
 * Runs the statement, waits for a line on stdin (the test changes the lake meanwhile), then
 * runs it three more times, printing each run's column count or SQLSTATE and routine.
 */
public class ReprepareProbe {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/lake?sslmode=require&prepareThreshold=1";
        Properties props = new Properties();
        props.setProperty("user", "token");
        props.setProperty("password", args[1]);
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in));
        try (Connection conn = DriverManager.getConnection(url, props);
             PreparedStatement ps = conn.prepareStatement(args[2])) {
            // pgjdbc names the statement on the server from its second run (prepareThreshold=1
            // counts the first run as the one before).
            run(ps);
            run(ps);
            System.out.println("ready");
            System.out.flush();
            stdin.readLine();
            for (int i = 0; i < 3; i++) {
                run(ps);
            }
            // The connection is still good for other statements.
            try (ResultSet rs = conn.createStatement().executeQuery("SELECT 1")) {
                rs.next();
                System.out.println("after\t" + rs.getInt(1));
            }
        }
    }

    private static void run(PreparedStatement ps) {
        try (ResultSet rs = ps.executeQuery()) {
            int rows = 0;
            while (rs.next()) rows++;
            System.out.println("columns\t" + rs.getMetaData().getColumnCount() + "\t" + rows);
        } catch (SQLException e) {
            String routine = "";
            if (e instanceof org.postgresql.util.PSQLException) {
                org.postgresql.util.ServerErrorMessage m = ((org.postgresql.util.PSQLException) e).getServerErrorMessage();
                if (m != null) routine = String.valueOf(m.getRoutine());
            }
            System.out.println("error\t" + e.getSQLState() + "\t" + routine);
        }
        System.out.flush();
    }
}
