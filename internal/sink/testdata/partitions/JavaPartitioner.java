import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;

/**
 * Prints, for every key of a keys file and every partition count given, the partition that the
 * Java producer's default partitioner picks for a record with that key (a String key, so its
 * UTF-8 bytes), one line each: key TAB partitions TAB partition.
 *
 * java -cp '.cache/kafka/lib/*' JavaPartitioner.java keys.txt 1 2 3
 */
public class JavaPartitioner {
    public static void main(String[] args) throws Exception {
        for (String line : Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8)) {
            if (line.startsWith("#")) {
                continue;
            }
            byte[] key = (line.equals("<empty>") ? "" : line).getBytes(StandardCharsets.UTF_8);
            for (int i = 1; i < args.length; i++) {
                int n = Integer.parseInt(args[i]);
                System.out.printf("%s\t%d\t%d%n", line, n, BuiltInPartitioner.partitionForKey(key, n));
            }
        }
    }
}
