package bench.hand;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cloud.gateway.route.RouteLocator;
import org.springframework.cloud.gateway.route.builder.RouteLocatorBuilder;
import org.springframework.context.annotation.Bean;

/** What one would write by hand for bench/plain.edge: every path to the one backend. */
@SpringBootApplication
public class HandGateway {

    public static void main(String[] args) {
        SpringApplication.run(HandGateway.class, args);
    }

    @Bean
    RouteLocator routes(RouteLocatorBuilder builder, @Value("${bench.backend}") String backend) {
        return builder.routes()
            .route("plain", r -> r.path("/**").uri(backend))
            .build();
    }
}
